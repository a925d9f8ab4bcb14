"""The driver JVM's options (SPARKIFY_SPARK_JAVA_OPTIONS): a command's Spark compiles with C1
only by default (one build is too short for C2 to pay back: BENCHMARKS.md, dev loop); the
long-lived Thrift Server keeps the JVM's own JIT; the setting replaces the default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.paths import StatePaths
from ingest.spark.conf import spark_defaults
from tests.support.project import spark_setup

C1_ONLY = "-XX:TieredStopAtLevel=1"


def _driver_options(state: Path, **kwargs: bool) -> list[str]:
    defaults = spark_defaults(StatePaths(state), spark_setup(), **kwargs)
    return defaults["spark.driver.extraJavaOptions"].split()


def test_a_command_compiles_with_c1_only_the_thrift_server_does_not(tmp_path: Path) -> None:
    assert C1_ONLY in _driver_options(tmp_path)
    server = _driver_options(tmp_path, long_lived=True)
    assert C1_ONLY not in server
    assert "-Duser.timezone=UTC" in server


def test_the_setting_replaces_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_SPARK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=4 -XX:+UseSerialGC")
    options = _driver_options(tmp_path)
    assert C1_ONLY not in options
    assert options[-2:] == ["-XX:TieredStopAtLevel=4", "-XX:+UseSerialGC"]


@pytest.mark.spark
def test_the_session_jvm_runs_with_the_options(spark: Any) -> None:
    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert C1_ONLY in list(runtime.getInputArguments())
