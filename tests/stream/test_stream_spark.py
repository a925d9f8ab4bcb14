"""`python -m ingest stream --once` end to end: Kinesis (moto) → Spark → landing → dbt build.

Events of one day go onto a stream, with duplicates and malformed lines; the stream lands
them next to a batch source's songs and first day, and the build gives the marts the
contract computes from the same events as files (tests/support/expected_marts.py), with
exactly the malformed lines in the quarantine. A second day on the stream then adds only
its rows: nothing is loaded twice.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ingest.cli import main
from ingest.paths import StatePaths
from ingest.raw.sources import parse_source
from ingest.sample.generate import GenerateConfig
from ingest.stage.landing_ledger import ledger_entries
from ingest.stage.spark import landing_folder
from tests.support.cross_engine import assert_same_marts, export_marts
from tests.support.expected_marts import build_expected_marts
from tests.support.kinesis import (
    create_stream,
    event_lines,
    kinesis,
    local_kinesis,
    put_lines,
)
from tests.support.project import PROJECT_DIR
from tests.support.stream_marts import log_path, staged_first_day, write_day

# long: two dbt builds; it passes alone (make test-long) but failed once inside the whole
# suite (marts built without the batch songs and day 1): an order dependence to find
pytestmark = [pytest.mark.spark, pytest.mark.aws, pytest.mark.long]
START = dt.date(2019, 6, 1)
DAYS = [START + dt.timedelta(days=offset) for offset in range(3)]
MALFORMED = ["not json at all", '{"page": "NextSong", "ts": 1559347200000}',
             '{"page": "NextSong", "ts": 15593']


def _stream(source: Path) -> None:
    assert main(["stream", "--stream", "events", "--once", "--source", str(source),
                 "--raw-schema", "strm_raw", "--schema", "strm"]) == 0


def test_stream_once_lands_verifies_and_builds_like_a_file(
        spark: Any, session_state: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    state = StatePaths(session_state)
    full, source, expected = staged_first_day(
        tmp_path, spark, state, GenerateConfig(songs=40, days=3, events_per_day=120, seed=5,
                                               start_date=START, known_song_share=0.7),
        "strm_raw")

    with local_kinesis(monkeypatch) as endpoint:
        client = kinesis(endpoint)
        create_stream(client, "events", shards=2)
        day1 = event_lines(log_path(full, DAYS[1]))
        delivered = day1 + day1[:7]  # the app delivers some events twice
        put_lines(client, "events", [*delivered[:50], *MALFORMED, *delivered[50:]])
        write_day(expected, DAYS[1], delivered)
        _stream(source)

        def marts() -> Any:
            return export_marts(lambda mart: [row.asDict() for row in spark.sql(
                f"select * from strm.{mart}").collect()])

        def contract() -> Any:
            answer = build_expected_marts(expected, PROJECT_DIR / "seeds" / "us_states.csv")
            return export_marts(lambda mart: answer[mart])

        assert_same_marts({"expected": contract(), "streamed": marts()})
        _entries, quarantined = ledger_entries(landing_folder(state, parse_source(str(source))))
        assert sorted(row[4] for row in quarantined) == sorted(MALFORMED)
        assert all(row[1].startswith("log_data/stream/events/shardId-") for row in quarantined)

        day2 = event_lines(log_path(full, DAYS[2]))
        put_lines(client, "events", day2)
        write_day(expected, DAYS[2], day2)
        _stream(source)
        assert_same_marts({"expected": contract(), "streamed": marts()})
        staged = spark.sql("select count(*) from strm_raw.log_data").collect()[0][0]
        assert staged == len(event_lines(log_path(full, DAYS[0]))) + len(delivered) + len(day2)
