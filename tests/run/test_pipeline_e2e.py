"""End to end on the embedded Spark: raw JSON → (local S3) → stage → dbt build → marts.

The expected marts come from tests/support/expected_marts.py, an independent pure-Python
reading of the star-schema contract, so a wrong model and a wrong generator cannot agree by
accident.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from ingest.paths import BUILD_RESULTS, StatePaths
from ingest.raw.sources import parse_source
from ingest.run.pipeline import MARTS, format_summary, run_pipeline
from ingest.sample.generate import GenerateConfig
from tests.support.expected_marts import (
    build_expected_marts,
    canonical,
    deduplicated,
    read_events,
)
from tests.support.project import FIXTURES, PROJECT_DIR

pytestmark = pytest.mark.spark
US_STATES = PROJECT_DIR / "seeds" / "us_states.csv"


def _mart_rows(spark: Any, schema: str, mart: str) -> list[dict[str, object]]:
    return [row.asDict() for row in spark.sql(f"select * from {schema}.{mart}").collect()]


def _assert_marts_equal(spark: Any, schema: str, raw_dir: Path) -> dict[str, list[Any]]:
    expected = build_expected_marts(raw_dir, US_STATES)
    for mart in MARTS:
        actual = canonical(_mart_rows(spark, schema, mart))
        wanted = canonical(expected[mart])
        assert len(actual) == len(wanted), f"{mart}: {len(actual)} rows, expected {len(wanted)}"
        mismatches = [(a, w) for a, w in zip(actual, wanted, strict=True) if a != w]
        assert not mismatches, f"{mart}: {len(mismatches)} rows differ, first: {mismatches[0]}"
    return expected


def test_generated_sample_through_local_s3(
    spark: Any, session_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` without SOURCE: sample → moto S3 → verified landing → tables → marts → docs."""
    # dbt gets the schemas through the invocation (--vars), not the environment
    monkeypatch.delenv("SPARKIFY_SCHEMA", raising=False)
    monkeypatch.delenv("SPARKIFY_RAW_SCHEMA", raising=False)
    state = StatePaths(session_state)
    # Four days across the ISO year boundary: 2020-12-30 .. 2021-01-02 (ISO week 53).
    sample = GenerateConfig(songs=150, days=4, events_per_day=600, seed=11,
                            start_date=dt.date(2020, 12, 30), known_song_share=0.7)

    summary = run_pipeline(None, raw_schema="e2e_raw", schema="e2e", sample=sample,
                           state=state, project=PROJECT_DIR, target_path=tmp_path / "target")

    expected = _assert_marts_equal(spark, "e2e", state.sample)
    assert summary.mart_rows == {mart: len(expected[mart]) for mart in MARTS}
    assert summary.source.startswith("s3://")
    assert summary.dbt.tests_failed == 0 and summary.dbt.tests_passed >= 40
    assert summary.dbt.tests_warned == 0, summary.dbt.warned
    events = list(read_events(state.sample))
    assert summary.duplicates_removed == len(events) - len(deduplicated(events)) > 0
    assert summary.docs is not None and summary.docs.is_file()
    assert (tmp_path / "target" / "catalog.json").is_file()
    build_results = json.loads((tmp_path / "target" / BUILD_RESULTS).read_text())
    assert build_results["args"]["which"] == "build", "the build's results outlive docs generate"
    plays = expected["fct_songplays"]
    matched = [row for row in plays if row["song_id"] is not None]
    assert 0 < len(matched) < len(plays), "the sample must hold matched and unmatched plays"
    weeks = {(row["year"], row["week"]) for row in expected["dim_time"]}
    assert (2021, 53) in weeks

    results = tmp_path / "target" / "run_results.json"
    built_at = results.stat().st_mtime_ns
    again = run_pipeline(None, raw_schema="e2e_raw", schema="e2e", sample=sample,
                         state=state, project=PROJECT_DIR, target_path=tmp_path / "target")
    assert again.nothing_new and again.dbt is None, "a second `make run` builds nothing"
    assert results.stat().st_mtime_ns == built_at, "no dbt command ran"
    assert "nothing new since the last build" in format_summary(again, "e2e")


def test_handmade_folder_source(
    spark: Any, session_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run SOURCE=<dir>` on raw data the generator did not write."""
    monkeypatch.delenv("SPARKIFY_SCHEMA", raising=False)
    monkeypatch.delenv("SPARKIFY_RAW_SCHEMA", raising=False)
    raw_dir = FIXTURES / "raw_handwritten"

    summary = run_pipeline(parse_source(str(raw_dir)), raw_schema="handmade_raw",
                           schema="handmade",
                           docs=False, state=StatePaths(session_state), project=PROJECT_DIR,
                           target_path=tmp_path / "target")

    expected = _assert_marts_equal(spark, "handmade", raw_dir)
    assert summary.mart_rows["fct_songplays"] == len(expected["fct_songplays"])
    raw_plays = spark.sql(
        "select count(*) from (select distinct userId, sessionId, itemInSession "
        "from handmade_raw.log_data where page = 'NextSong' and userId <> '')"
    ).collect()[0][0]
    assert summary.mart_rows["fct_songplays"] == raw_plays
