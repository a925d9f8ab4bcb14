"""`python -m ingest dev` on the embedded Spark: builds one after the other in one process
and JVM give the contract's marts; a build that fails is one line and exit 1, not a trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.cli import main
from ingest.errors import EXIT_CYCLE_FAILED
from ingest.paths import StatePaths
from ingest.run.pipeline import MARTS
from ingest.sample.generate import GenerateConfig, generate
from tests.support.expected_marts import build_expected_marts, canonical
from tests.support.project import PROJECT_DIR
from tests.support.staging import stage_spark

pytestmark = [pytest.mark.spark, pytest.mark.dbt]


def test_builds_on_one_warm_engine_give_the_contracts_marts(
        spark: Any, session_state: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    raw = tmp_path / "raw"
    generate(raw, GenerateConfig(songs=20, days=2, events_per_day=80, seed=5))
    stage_spark(raw, schema="dev_raw", state=StatePaths(session_state))
    caplog.set_level("INFO")

    code = main(["dev", "--builds", "2", "--raw-schema", "dev_raw", "--schema", "dev"])

    assert code == 0
    lines = [record.getMessage() for record in caplog.records
             if record.name == "ingest.dev.commands"]
    assert [line.split(":")[0] for line in lines] == ["build 1", "build 2"]
    assert all("11 models" in line and "tests passed" in line for line in lines), lines
    # the engine says which session settings the state's size gave it
    assert any("of landed data and marts" in record.getMessage() for record in caplog.records)
    expected = build_expected_marts(raw, PROJECT_DIR / "seeds" / "us_states.csv")
    for mart in MARTS:
        rows = [row.asDict() for row in spark.sql(f"select * from dev.{mart}").collect()]
        assert canonical(rows) == canonical(expected[mart]), mart


def test_a_failing_build_is_one_line_and_exit_1(
        spark: Any, session_state: Path, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level("INFO")

    code = main(["dev", "--builds", "1", "--raw-schema", "no_such_raw", "--schema", "dev_bad",
                 "--select", "stg_sparkify__events"])

    assert code == EXIT_CYCLE_FAILED
    failed = [record.getMessage() for record in caplog.records
              if record.name == "ingest.dev.commands"]
    assert len(failed) == 1 and failed[0].startswith("build 1 failed after"), failed
    assert "Traceback" not in capsys.readouterr().err
