"""The environment a benchmark step runs in: its own state folder and Spark conf, in UTC."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def step_env(state: Path) -> dict[str, str]:
    """This process's environment, with its own state folder and Spark conf, in UTC; the
    Spark conf written there (`python -m ingest spark-conf`, not timed)."""
    env = dict(os.environ)
    env.update({"SPARKIFY_STATE_DIR": str(state), "SPARK_CONF_DIR": str(state / "spark-conf"),
                "TZ": "UTC", "PYTHONUNBUFFERED": "1"})
    subprocess.run([sys.executable, "-m", "ingest", "spark-conf", "--dir", env["SPARK_CONF_DIR"]],
                   env=env, check=True, capture_output=True)
    return env
