"""The driver JVM's options (SPARKIFY_SPARK_JAVA_OPTIONS): a command's Spark compiles with C1
only by default (one build is too short for C2 to pay back: BENCHMARKS.md, dev loop); the
long-lived Thrift Server and stream keep the JVM's own JIT unless
SPARKIFY_SPARK_SERVER_JAVA_OPTIONS says otherwise; the setting replaces the default."""

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


def test_a_command_compiles_with_c1_only_the_thrift_server_does_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPARKIFY_SPARK_SERVER_JAVA_OPTIONS", raising=False)
    assert C1_ONLY in _driver_options(tmp_path)
    server = _driver_options(tmp_path, long_lived=True)
    assert C1_ONLY not in server
    assert "-Duser.timezone=UTC" in server


def test_long_lived_drivers_take_their_own_setting(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_SPARK_SERVER_JAVA_OPTIONS", "-XX:+UseSerialGC")
    monkeypatch.setenv("SPARKIFY_SPARK_JAVA_OPTIONS", C1_ONLY)
    server = _driver_options(tmp_path, long_lived=True)
    assert server[-1] == "-XX:+UseSerialGC" and C1_ONLY not in server
    assert _driver_options(tmp_path)[-1] == C1_ONLY


def test_the_suite_compiles_its_servers_as_commands(tmp_path: Path) -> None:
    """tests/conftest.py: the Thrift Servers and streams the tests start live minutes."""
    assert C1_ONLY in _driver_options(tmp_path, long_lived=True)


def test_the_setting_replaces_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_SPARK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=4 -XX:+UseSerialGC")
    options = _driver_options(tmp_path)
    assert C1_ONLY not in options
    assert options[-2:] == ["-XX:TieredStopAtLevel=4", "-XX:+UseSerialGC"]


@pytest.mark.spark
def test_the_session_jvm_runs_with_the_options(spark: Any) -> None:
    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert C1_ONLY in list(runtime.getInputArguments())
