"""ingest.settings: typed, read when asked, one table shared by --help and docs/settings.md."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from ingest.cli import build_parser, main
from ingest.errors import IngestError
from ingest.settings import (
    GROUPS,
    EmrSettings,
    RedshiftClusterSettings,
    SparkSettings,
    StageSettings,
)
from ingest.settings_table import settings_rows, settings_table
from tests.support.project import PROJECT_DIR

DOC = PROJECT_DIR / "docs" / "settings.md"
INGEST = PROJECT_DIR / "ingest"
# Reads of the environment outside ingest/settings.py that stay, and why (see docs/settings.md).
ALLOWED_READS = {
    # the Thrift Server JVM inherits the environment, plus its own SPARK_CONF_DIR and TZ
    "spark/thrift_server.py": "{**os.environ,",
    # the standalone cluster's daemons inherit the environment, plus SPARK_HOME and their marker
    "spark/cluster.py": "{**os.environ,",
    # the JVM recording the class archive inherits it, plus its throwaway state's folders
    "spark/class_archive.py": "{**os.environ,",
    # a cluster's executors get the driver's AWS variables as spark.executorEnv.* (the
    # Kinesis source's Python workers run there): a copy, as a child process's environment
    "spark/session.py": "inherited = {**os.environ}",
}


def test_the_docs_table_is_the_generated_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert "\n".join(lines) + "\n" == settings_table(), (
        "docs/settings.md is out of date: paste `python -m ingest.settings_table` over its table")


def test_help_ends_with_the_table() -> None:
    epilog = build_parser().epilog or ""
    for row in settings_rows():
        assert " / ".join(row.names) in epilog
    assert "SPARKIFY_EMR_CORE_COUNT" in epilog


def test_every_variable_once_with_a_meaning() -> None:
    names = [name for row in settings_rows() for name in row.names]
    assert len(names) == len(set(names))
    assert all(row.meaning and row.meaning != "None" for row in settings_rows())
    assert len(GROUPS) == len({group.__name__ for group in GROUPS})


def test_values_are_typed_and_read_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert StageSettings.read().batch_objects == 500
    monkeypatch.setenv("SPARKIFY_BATCH_OBJECTS", "7")
    monkeypatch.setenv("SPARKIFY_PRUNE", "yes")
    monkeypatch.setenv("SPARKIFY_SPARK_SHUFFLE_PARTITIONS", "")  # empty: unset
    monkeypatch.setenv("JAVA_HOME", "/opt/java")
    monkeypatch.setenv("SPARKIFY_REDSHIFT_SECURITY_GROUPS", "sg-1, sg-2,")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    stage = StageSettings.read()
    assert (stage.batch_objects, stage.prune, stage.region) == (7, True, "eu-west-1")
    assert SparkSettings.read().shuffle_partitions == 4
    assert SparkSettings.read().java_home == Path("/opt/java")
    assert RedshiftClusterSettings.read().security_groups == ("sg-1", "sg-2")
    monkeypatch.setenv("SPARKIFY_REGION", "us-east-2")
    assert StageSettings.read().region == "us-east-2", "SPARKIFY_REGION before AWS_REGION"
    assert EmrSettings.read().timeout == 1800.0


@pytest.mark.parametrize(("name", "value"), [
    ("SPARKIFY_EMR_CORE_COUNT", "two"), ("SPARKIFY_THRIFT_PORT", "70000"),
    ("SPARKIFY_WAIT", "maybe"), ("SPARKIFY_LOCATION", "moon"),
    ("SPARKIFY_START_DATE", "yesterday"),
])
def test_a_bad_value_is_one_line_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(IngestError, match=f"{name}={value!r}"):
        build_parser()
    assert main(["status"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: bad environment variable: {name}=") and error.count("\n") == 1


def test_cli_defaults_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_SONGS", "5")
    monkeypatch.setenv("SPARKIFY_EMR_CORE_COUNT", "4")
    monkeypatch.setenv("SPARKIFY_START_DATE", "2020-02-03")
    parser = build_parser()
    assert parser.parse_args(["pipeline"]).songs == 5
    assert parser.parse_args(["emr", "up"]).core_count == 4
    assert parser.parse_args(["generate", "--out", "x"]).start_date == dt.date(2020, 2, 3)


def test_no_other_module_reads_the_environment() -> None:
    reads = re.compile(r"os\.environ\.get|os\.getenv|getenv\(|os\.environ\[[^\]]+\](?!\s*=)"
                       r"|\{\*\*os\.environ")
    found = {}
    for path in sorted(INGEST.rglob("*.py")):
        name = str(path.relative_to(INGEST))
        if name == "settings.py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if (reads.search(line) and not line.strip().startswith("del ")
                    and ALLOWED_READS.get(name, "\0") not in line):
                found[name] = line.strip()
    assert found == {}
