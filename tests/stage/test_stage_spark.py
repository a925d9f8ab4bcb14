"""Staging into the embedded Spark: explicit schemas over the verified parquet landing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from ingest.paths import StatePaths
from ingest.stage.core import StageOptions
from tests.support.project import FIXTURES
from tests.support.raw_lines import BAD_LINES, log_key, log_with_bad_lines
from tests.support.staging import landing_of, stage_spark

pytestmark = pytest.mark.spark


def test_stage_registers_typed_tables_over_verified_data(
    spark: Any, session_state: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES / "raw_handwritten", raw)
    state = StatePaths(session_state)
    result = stage_spark(str(raw), schema="stage_raw", state=state, spark=spark)

    assert (result.rows("song_data"), result.rows("log_data")) == (8, 16)
    assert spark.sql("select count(*) from stage_raw.log_data").collect()[0][0] == 16
    types = dict(spark.sql("select * from stage_raw.log_data").dtypes)
    assert types["ts"] == "bigint" and types["userId"] == "string"
    assert types["registration"] == "double" and types["sessionId"] == "int"
    assert types["_ingested_at"] == "timestamp" and types["_source_key"] == "string"
    assert types["event_date"] == "date"
    song_types = dict(spark.sql("select * from stage_raw.song_data").dtypes)
    assert song_types["artist_latitude"] == "double" and song_types["year"] == "int"
    songs = landing_of(state, raw) / "verified" / "song_data"
    assert len(list(songs.glob("*.parquet"))) == 1, "8 song files in one"
    stamps = spark.sql("select min(_ingested_at), count(*) from stage_raw.song_data "
                       "where _ingested_at > timestamp'2026-01-01 00:00:00'").collect()[0]
    assert stamps[1] == 8, "the stamps read back as timestamps of this stage"

    again = stage_spark(str(raw), schema="stage_raw", state=state, spark=spark)
    assert again.report is not None and not again.report.changed

    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 1000, BAD_LINES))
    third = stage_spark(str(raw), schema="stage_raw", state=state, spark=spark)
    assert third.rows("log_data") == 16 + 995
    counts = spark.sql("select _source_key, count(*) from stage_raw.log_data "
                       "group by _source_key").collect()
    assert dict((row[0], row[1]) for row in counts)[log_key(day)] == 995


def _partitions(spark: Any, table: str) -> list[str]:
    return sorted(str(row[0]) for row in spark.sql(f"show partitions {table}").collect())


def test_the_log_table_is_partitioned_by_event_date_and_a_day_filter_reads_one_day(
    spark: Any, session_state: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES / "raw_handwritten", raw)
    for number in (3, 4):
        day = dt.date(2018, 11, number)
        (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 40 + number, []))
    state = StatePaths(session_state)
    stage_spark(str(raw), schema="stage_days", state=state, spark=spark)

    days = [f"event_date=2018-11-0{number}" for number in (1, 2, 3, 4)]
    log_location = landing_of(state, raw) / "verified" / "log_data"
    folders = sorted(path.name for path in log_location.iterdir())
    assert folders == days, "one Hive-style folder per day"
    assert _partitions(spark, "stage_days.log_data") == days
    mismatched = spark.sql("select count(*) from stage_days.log_data "
                           "where event_date <> cast(timestamp_millis(ts) as date)")
    assert mismatched.collect()[0][0] == 0, "event_date is the UTC date of ts"

    one_day = spark.sql("select * from stage_days.log_data "
                        "where event_date = date'2018-11-03'")
    files = one_day.inputFiles()
    assert len(files) == 1 and "/event_date=2018-11-03/" in files[0], files
    everything = spark.sql("select * from stage_days.log_data").inputFiles()
    assert len(everything) == 4, everything
    plan = one_day._jdf.queryExecution().executedPlan().toString()
    assert "PartitionFilters: [isnotnull(event_date" in plan, plan
    assert one_day.count() == 43

    caplog.set_level("INFO", logger="ingest")
    day = dt.date(2018, 11, 5)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 7, []))
    stage_spark(str(raw), schema="stage_days", state=state, spark=spark)
    assert _partitions(spark, "stage_days.log_data") == [*days, "event_date=2018-11-05"]
    assert "1 event_date partitions added, 0 dropped" in caplog.text
    assert "registered stage_days" not in caplog.text, "a new day does not re-create tables"
    assert spark.sql("select count(*) from stage_days.log_data "
                     "where event_date = date'2018-11-05'").collect()[0][0] == 7

    (raw / log_key(dt.date(2018, 11, 4))).unlink()
    stage_spark(str(raw), schema="stage_days", state=state, spark=spark,
                options=StageOptions(prune=True))
    assert "event_date=2018-11-04" not in _partitions(spark, "stage_days.log_data")
    assert not (log_location / "event_date=2018-11-04").exists()
    assert spark.sql("select count(*) from stage_days.log_data").collect()[0][0] == 16 + 43 + 7


def test_the_staging_model_passes_the_partition_column_through_and_prunes_days(
    spark: Any, session_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.run.dbt import run_dbt
    from tests.support.project import PROJECT_DIR

    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES / "raw_handwritten", raw)
    monkeypatch.setenv("SPARKIFY_RAW_SCHEMA", "stage_dbt_raw")
    monkeypatch.setenv("SPARKIFY_SCHEMA", "stage_dbt")
    stage_spark(str(raw), schema="stage_dbt_raw", state=StatePaths(session_state), spark=spark)
    target = tmp_path / "target"
    run_dbt(PROJECT_DIR, ["run", "--select", "stg_sparkify__events", "--target-path",
                          str(target)], target="spark")

    compiled = next(target.rglob("stg_sparkify__events.sql")).read_text(encoding="utf-8")
    assert "as event_date" in compiled
    assert "as date) as event_date" not in compiled, "computed although the column exists"
    view = "stage_dbt_staging.stg_sparkify__events"
    types = dict(spark.sql(f"select * from {view}").dtypes)
    assert list(types)[-1] == "event_date" and types["event_date"] == "date"
    wrong = spark.sql(f"select count(*) from {view} "
                      "where event_date <> cast(start_time as date)").collect()[0][0]
    assert wrong == 0
    one_day = spark.sql(f"select * from {view} where event_date = date'2018-11-02'")
    files = one_day.inputFiles()
    assert len(files) == 1 and "/event_date=2018-11-02/" in files[0], files


def test_an_event_beyond_the_calendar_is_quarantined_not_landed(
    spark: Any, session_state: Path, tmp_path: Path
) -> None:
    """A ts past 9999-12-31 (Spark's last timestamp) once landed in the null partition and
    failed the raw-to-fact reconciliation; the line check (ingest.raw.limits) now
    quarantines it with its reason, and its object's good line lands."""
    import json

    from ingest.stage.landing.ledger import ledger_entries
    from tests.support.raw_lines import good_event
    from tests.support.staging import landing_of

    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES / "raw_handwritten", raw)
    undated = raw / "log_data" / "extra" / "undated-events.json"  # no date: any ts goes
    undated.parent.mkdir(parents=True)
    beyond = json.dumps({**json.loads(good_event(dt.date(2018, 11, 9), 0)), "ts": 2**62})
    undated.write_text(f"{good_event(dt.date(2018, 11, 9), 1)}\n{beyond}\n")
    state = StatePaths(session_state)
    stage_spark(str(raw), schema="stage_beyond", state=state, spark=spark)

    assert "event_date=__HIVE_DEFAULT_PARTITION__" not in _partitions(
        spark, "stage_beyond.log_data")
    counts = spark.sql("select count(*), count(event_date) from stage_beyond.log_data "
                       "where _source_key = 'log_data/extra/undated-events.json'").collect()[0]
    assert (counts[0], counts[1]) == (1, 1), "the dated row lands, the other does not"
    _entries, quarantined = ledger_entries(landing_of(state, str(raw)))
    rows = [row for row in quarantined if beyond in row]
    assert len(rows) == 1, quarantined
    assert any("ts" in str(value) and value != beyond for value in rows[0]), rows[0]
