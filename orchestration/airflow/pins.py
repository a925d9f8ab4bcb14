"""Print the pins of the project's `airflow` extra (pyproject.toml), one per line.

`make airflow` installs them into .venv-airflow alone, not the project: Airflow's ~100
dependencies never enter the project's resolution. The extra is their one written place.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

if __name__ == "__main__":
    with PYPROJECT.open("rb") as file:
        print("\n".join(tomllib.load(file)["project"]["optional-dependencies"]["airflow"]))
