"""Staging into the embedded Spark: explicit schemas over the verified landing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from ingest.paths import StatePaths
from ingest.stage_spark import stage_spark

from .conftest import FIXTURES
from .raw_lines import BAD_LINES, log_key, log_with_bad_lines

pytestmark = pytest.mark.spark


def test_stage_registers_typed_tables_over_verified_data(
    spark: Any, session_state: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES / "raw_handwritten", raw)
    state = StatePaths(session_state)
    result = stage_spark(str(raw), schema="stage_raw", state=state, spark=spark)

    assert (result.song_rows, result.log_rows) == (8, 16)
    assert spark.sql("select count(*) from stage_raw.log_data").collect()[0][0] == 16
    types = dict(spark.sql("select * from stage_raw.log_data").dtypes)
    assert types["ts"] == "bigint" and types["userId"] == "string"
    assert types["registration"] == "double" and types["sessionId"] == "int"
    assert types["_ingested_at"] == "timestamp" and types["_source_key"] == "string"
    song_types = dict(spark.sql("select * from stage_raw.song_data").dtypes)
    assert song_types["artist_latitude"] == "double" and song_types["year"] == "int"
    assert len(list(Path(result.song_location).glob("*.json"))) == 1, "8 song files in one"

    again = stage_spark(str(raw), schema="stage_raw", state=state, spark=spark)
    assert again.landing is not None and not again.landing.changed

    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 1000, BAD_LINES))
    third = stage_spark(str(raw), schema="stage_raw", state=state, spark=spark)
    assert third.log_rows == 16 + 995
    counts = spark.sql("select _source_key, count(*) from stage_raw.log_data "
                       "group by _source_key").collect()
    assert dict((row[0], row[1]) for row in counts)[log_key(day)] == 995
