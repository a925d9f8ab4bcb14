"""Staging into the embedded Spark: explicit schemas, compaction, validation."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.stage_spark import stage_spark

from .conftest import FIXTURES

pytestmark = pytest.mark.spark


def test_stage_registers_typed_tables_over_compacted_songs(
    spark: Any, session_state: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES / "raw_handwritten", raw)
    result = stage_spark(str(raw), schema="stage_raw", state=StatePaths(session_state),
                         spark=spark)

    assert (result.song_rows, result.log_rows) == (8, 16)
    types = dict(spark.sql("select * from stage_raw.log_data").dtypes)
    assert types["ts"] == "bigint" and types["userId"] == "string"
    assert types["registration"] == "double" and types["sessionId"] == "int"
    song_types = dict(spark.sql("select * from stage_raw.song_data").dtypes)
    assert song_types["artist_latitude"] == "double" and song_types["year"] == "int"
    song_files = list(Path(result.song_location).glob("part-*.json"))
    assert len(song_files) == 1, "eight song files compacted into one"
    assert spark.sql("show tables in stage_raw like '*pending*'").count() == 0

    log_file = sorted(raw.glob("log_data/**/*.json"))[0]
    log_file.write_text(log_file.read_text(encoding="utf-8") + '\n{"artist": "cut off',
                        encoding="utf-8")
    with pytest.raises(IngestError, match="not a valid JSON object"):
        stage_spark(str(raw), schema="stage_raw", state=StatePaths(session_state), spark=spark)
    assert spark.sql("show tables in stage_raw like '*pending*'").count() == 0
