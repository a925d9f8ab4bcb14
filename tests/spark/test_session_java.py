"""Without a usable Java, starting Spark ends in one clear `IngestError` line, not pyspark's
raw JAVA_GATEWAY_EXITED (fast: the launcher fails before any JVM starts)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.spark.session import java_binary
from tests.support.project import PROJECT_DIR

# The pre-check (java_binary) is bypassed, so the session start itself must say it.
START_WITHOUT_PRECHECK = textwrap.dedent("""\
    import sys
    from pathlib import Path
    from ingest.errors import IngestError
    from ingest.spark import session
    from ingest.paths import StatePaths
    from ingest.settings import ProjectSettings
    session.java_binary = lambda home: Path("java")
    try:
        session.spark_session(StatePaths.of(ProjectSettings.read()))
    except IngestError as exc:
        print(exc)
        sys.exit(2)
""")


def test_a_jvm_that_cannot_start_is_one_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "no-java"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYSPARK")}
    env.update(JAVA_HOME=str(empty), PATH=str(Path(sys.executable).parent),
               SPARKIFY_STATE_DIR=str(tmp_path / "state"), SPARK_CONF_DIR=str(tmp_path / "conf"),
               PYTHONPATH=str(PROJECT_DIR))
    result = subprocess.run([sys.executable, "-c", START_WITHOUT_PRECHECK], env=env,
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 2, result.stderr
    assert result.stdout.count("\n") == 1, result.stdout
    assert "Java 17" in result.stdout and "JAVA_HOME" in result.stdout
    assert "apt-get install openjdk-17-jre-headless" in result.stdout
    assert "JAVA_GATEWAY_EXITED" not in result.stdout
    assert "Traceback" not in result.stderr


def test_java_home_without_java_is_named(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"JAVA_HOME=.* has no bin/java\. .*Java 17"):
        java_binary(tmp_path)
