"""The DuckDB reader over a Spark warehouse folder, on files written here (no JVM)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.report.readers import ParquetReader, open_reader


def _part(folder: Path, users: list[int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"user_id": users, "level": ["free"] * len(users)}),
                   folder / "part-00000.snappy.parquet")


def test_reads_partitions_and_skips_sparks_work_in_progress(tmp_path: Path) -> None:
    table = tmp_path / "sparkify.db" / "fct_songplays"
    _part(table / "start_date=2018-11-01", [1, 2])
    _part(table / "start_date=2018-11-02", [3])
    _part(table / "_temporary" / "0" / "start_date=2018-11-02", [4, 5, 6])
    _part(table / ".spark-staging-1" / "start_date=2018-11-03", [7])
    reader = ParquetReader(tmp_path, "sparkify")
    try:
        rows = reader.rows(f"select start_date, count(*) from {reader.relation('fct_songplays')}"
                           " group by start_date order by start_date")
    finally:
        reader.close()
    assert rows == [(dt.date(2018, 11, 1), 2), (dt.date(2018, 11, 2), 1)]


def test_the_targets_it_reads(tmp_path: Path) -> None:
    state = StatePaths(tmp_path)
    spark = open_reader("spark", "sparkify", state)
    thrift = open_reader("spark_thrift", "sparkify", state)
    assert isinstance(spark, ParquetReader) and isinstance(thrift, ParquetReader)
    assert spark.folder == state.warehouse / "sparkify.db"
    assert thrift.folder == state.thrift_server.warehouse / "sparkify.db"
    with pytest.raises(IngestError, match="cannot read target 'bigquery'"):
        open_reader("bigquery", "sparkify", state)
    with pytest.raises(IngestError):
        open_reader("spark", "sparkify; drop", state)
