"""Driving the project's Airflow environment (`.venv-airflow`, `make airflow`) from tests.

The tests run in the project's .venv; Airflow lives in its own venv, so every Airflow step
is a subprocess of `.venv-airflow/bin/airflow` (or its python) with its own AIRFLOW_HOME.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.project import PROJECT_DIR

AIRFLOW_VENV = PROJECT_DIR / ".venv-airflow"
AIRFLOW_BIN = AIRFLOW_VENV / "bin"
DAGS_FOLDER = PROJECT_DIR / "orchestration" / "airflow" / "dags"
DAG_IDS = ("sparkify_daily", "sparkify_every_10_minutes", "sparkify_stream",
           "sparkify_emr_transient")

requires_airflow = pytest.mark.skipif(
    not (AIRFLOW_BIN / "airflow").is_file(),
    reason=f"no Airflow environment at {AIRFLOW_VENV}: `make airflow` creates it "
           "(make test does)",
)


@dataclass(frozen=True)
class Airflow:
    """One Airflow installation's home (SQLite metadata DB) and the environment to run it."""

    home: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300, check: bool = True,
            **extra_env: str) -> subprocess.CompletedProcess[str]:
        """`airflow ARGS`, its output captured (shown when it fails)."""
        return self._run([str(AIRFLOW_BIN / "airflow"), *args], timeout, check, extra_env)

    def python(self, code: str, *, timeout: float = 120, check: bool = True,
               **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Python `code` in the Airflow environment."""
        return self._run([str(AIRFLOW_BIN / "python"), "-c", code], timeout, check, extra_env)

    def _run(self, command: list[str], timeout: float, check: bool,
             extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(command, env={**os.environ, **self.env, **extra_env},
                                cwd=PROJECT_DIR, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            pytest.fail(f"{' '.join(command[:4])} … exited {result.returncode}:\n"
                        f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
        return result


def airflow_env(home: Path, **variables: str) -> dict[str, str]:
    """What `make airflow-up` sets too: this home, the DAGs, no examples, no telemetry;
    `variables` become Airflow Variables (AIRFLOW_VAR_<NAME>)."""
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "PATH": f"{AIRFLOW_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(DAGS_FOLDER),
        # the project's own commands write into the test's state folder, never .state/
        "SPARKIFY_STATE_DIR": str(home / "state"),
    }
    env.update({f"AIRFLOW_VAR_{name.upper()}": value for name, value in variables.items()})
    return env


def migrated(home: Path, **variables: str) -> Airflow:
    """A fresh Airflow home whose SQLite metadata database `airflow db migrate` made."""
    airflow = Airflow(home, airflow_env(home, **variables))
    airflow.run("db", "migrate")
    return airflow
