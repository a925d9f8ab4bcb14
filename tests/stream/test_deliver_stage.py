"""Delivered objects are raw data the stage takes: the same rows as the replayed source."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from ingest.cli import main
from ingest.sample.generate import GenerateConfig, generate
from tests.stream.support import MALFORMED, write_handwritten
from tests.support.project import postgres_rows

pytestmark = pytest.mark.postgres

_EVENT = "ts, userid, sessionid, iteminsession, page, song, useragent, level"


def _rows(database: str, schema: str) -> list[tuple[object, ...]]:
    rows = postgres_rows(database, f"select {_EVENT} from {schema}.log_data order by {_EVENT}")
    return [tuple(row.values()) for row in rows]


def test_stage_postgres_loads_the_delivered_events(aws: str, pg_database: str,
                                                   tmp_path: Path) -> None:
    source = tmp_path / "src"
    generate(source, GenerateConfig(songs=6, days=3, events_per_day=150, seed=11,
                                            start_date=dt.date(2018, 11, 10)))
    write_handwritten(source, events_per_day=20)
    assert main(["produce", "--stream", "events", "--source", str(source),
                 "--shards", "2"]) == 0
    landed = tmp_path / "landed"
    assert main(["deliver", "--stream", "events", "--to", str(landed), "--once",
                 "--max-records", "200"]) == 0
    shutil.copytree(source / "song_data", landed / "song_data")  # songs come by upload

    assert main(["stage", "--target", "postgres", "--source", str(landed)]) == 0
    assert main(["stage", "--target", "postgres", "--source", str(source),
                 "--raw-schema", "raw_replayed"]) == 0

    delivered = _rows(pg_database, "sparkify_raw")
    assert delivered == _rows(pg_database, "raw_replayed")
    assert len(delivered) > 400
    quarantined = postgres_rows(pg_database, "select raw_line from "
                                             "sparkify_raw._quarantined_lines")
    assert sorted(row["raw_line"].encode() for row in quarantined) == sorted(MALFORMED)
