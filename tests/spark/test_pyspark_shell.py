"""The pyspark shell that `make run`'s summary (and docs/using.md) tells a new user to open:
from the project root, in a shell whose PATH has no venv, it starts and answers Spark SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.paths import StatePaths
from ingest.run.pipeline import PYSPARK_SHELL
from ingest.spark.conf import write_spark_conf
from tests.support.project import PROJECT_DIR, spark_setup

pytestmark = pytest.mark.spark


def test_the_summary_s_pyspark_shell_answers_outside_an_activated_venv(tmp_path: Path) -> None:
    conf = write_spark_conf(StatePaths(tmp_path / "state"), spark_setup(), tmp_path / "conf")
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(entry for entry in os.environ.get("PATH", "").split(os.pathsep)
                           if entry and entry != venv_bin)
    env = {**os.environ, "PATH": path, "SPARK_CONF_DIR": str(conf), "TZ": "UTC"}
    env.pop("PYSPARK_PYTHON", None)
    env.pop("VIRTUAL_ENV", None)
    # the shell sets `spark` up only when interactive: a pseudo-terminal (util-linux `script`)
    typed = "print(spark.sql('show databases').collect())\nexit()\n"
    result = subprocess.run(["script", "-q", "-e", "-c", PYSPARK_SHELL, "/dev/null"],
                            input=typed, cwd=PROJECT_DIR, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert "Row(namespace='default')" in result.stdout, result.stdout[-2000:]
    assert "Traceback" not in result.stdout
