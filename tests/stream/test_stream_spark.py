"""`python -m ingest stream --once` end to end: Kinesis (moto) → Spark → landing → dbt build.

Events of one day go onto a stream, with duplicates and malformed lines; the stream lands
them next to a batch source's songs and first day, and the build gives the marts the
contract computes from the same events as files (tests/support/expected_marts.py), with
exactly the malformed lines in the quarantine. A second day on the stream then adds only
its rows: nothing is loaded twice (a second build: `long`, make test-long).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
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
from tests.support.kinesis import create_stream, event_lines, kinesis, local_kinesis, put_lines
from tests.support.project import PROJECT_DIR
from tests.support.stream_marts import log_path, staged_first_day, write_day

pytestmark = [pytest.mark.spark, pytest.mark.aws]
START = dt.date(2019, 6, 1)
DAYS = [START + dt.timedelta(days=offset) for offset in range(3)]
MALFORMED = ["not json at all", '{"page": "NextSong", "ts": 1559347200000}',
             '{"page": "NextSong", "ts": 15593']


class StreamedDays:
    """A batch source (songs, day 0) staged on Spark, and a moto stream the days after it go
    on; after each `stream --once`, the marts and the contract's answer on the same events."""

    def __init__(self, spark: Any, state_root: Path, tmp_path: Path, endpoint: str) -> None:
        self.spark, self.state = spark, StatePaths(state_root)
        tag = uuid.uuid4().hex[:6]  # schemas of its own: the tests share one metastore
        self.schema, self.raw_schema = f"strm_{tag}", f"strm_{tag}_raw"
        self.full, self.source, self.expected = staged_first_day(
            tmp_path, spark, self.state,
            GenerateConfig(songs=40, days=3, events_per_day=120, seed=5, start_date=START,
                           known_song_share=0.7), self.raw_schema)
        self.client = kinesis(endpoint)
        create_stream(self.client, "events", shards=2)

    def put_day(self, day: dt.date, *, twice: int = 0, malformed: Sequence[str] = ()
                ) -> list[str]:
        """Put one day's events (its first `twice` delivered again, `malformed` in between)."""
        lines = event_lines(log_path(self.full, day))
        delivered = lines + lines[:twice]
        put_lines(self.client, "events", [*delivered[:50], *malformed, *delivered[50:]])
        write_day(self.expected, day, delivered)
        return delivered

    def stream_once(self) -> None:
        assert main(["stream", "--stream", "events", "--once", "--source", str(self.source),
                     "--raw-schema", self.raw_schema, "--schema", self.schema]) == 0

    def assert_marts_as_contract(self) -> None:
        answer = build_expected_marts(self.expected, PROJECT_DIR / "seeds" / "us_states.csv")
        streamed = export_marts(lambda mart: [row.asDict() for row in self.spark.sql(
            f"select * from {self.schema}.{mart}").collect()])
        assert_same_marts({"expected": export_marts(lambda mart: answer[mart]),
                           "streamed": streamed})

    def quarantined_lines(self) -> list[tuple[str, str]]:
        """(object key, line) of each quarantined line of the source's landing."""
        _entries, quarantined = ledger_entries(
            landing_folder(self.state, parse_source(str(self.source))))
        return [(row[1], row[4]) for row in quarantined]


@pytest.fixture()
def streamed(spark: Any, session_state: Path, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[StreamedDays]:
    with local_kinesis(monkeypatch) as endpoint:
        yield StreamedDays(spark, session_state, tmp_path, endpoint)


def test_stream_once_lands_verifies_and_builds_like_a_file(streamed: StreamedDays) -> None:
    streamed.put_day(DAYS[1], twice=7, malformed=MALFORMED)  # some events delivered twice
    streamed.stream_once()
    streamed.assert_marts_as_contract()
    quarantined = streamed.quarantined_lines()
    assert sorted(line for _key, line in quarantined) == sorted(MALFORMED)
    assert all(key.startswith("log_data/stream/events/shardId-") for key, _ in quarantined)


@pytest.mark.long  # a second incremental build: make test-long
def test_a_second_streamed_day_adds_only_its_rows(streamed: StreamedDays) -> None:
    first = streamed.put_day(DAYS[1])
    streamed.stream_once()
    second = streamed.put_day(DAYS[2])
    streamed.stream_once()
    streamed.assert_marts_as_contract()
    staged = streamed.spark.sql(
        f"select count(*) from {streamed.raw_schema}.log_data").collect()[0][0]
    assert staged == len(event_lines(log_path(streamed.full, DAYS[0]))) + len(first) + len(second)
