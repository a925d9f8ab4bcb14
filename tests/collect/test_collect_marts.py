"""End to end: events posted to the collector → Kinesis (moto) → `stream --once` on the
embedded Spark → dbt build: the marts equal those the contract computes from the same events
as files, and the quarantine holds exactly the events the collector rejected.

`long` (a dbt build on Spark, minutes): `make test-long`. `make test` covers the path up to
the stream (tests/collect/test_api.py, test_load.py, test_faults.py: exact events on the
stream, none lost or doubled), which this test then carries into the marts.
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
from tests.support.collector import STREAM, collector_thread
from tests.support.cross_engine import assert_same_marts, export_marts
from tests.support.expected_marts import build_expected_marts
from tests.support.kinesis import event_lines, local_kinesis
from tests.support.project import PROJECT_DIR
from tests.support.stream_marts import log_path, staged_first_day, write_day

pytestmark = [pytest.mark.spark, pytest.mark.aws, pytest.mark.long]
START = dt.date(2019, 7, 1)
DAYS = [START + dt.timedelta(days=offset) for offset in range(2)]
MALFORMED = ["not json at all", '{"page": "NextSong", "ts": 1561939200000}', "[1, 2]"]


def test_posted_events_reach_the_marts_like_a_file(
        spark: Any, session_state: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    state = StatePaths(session_state)
    full, source, expected = staged_first_day(
        tmp_path, spark, state, GenerateConfig(songs=40, days=2, events_per_day=150, seed=11,
                                               start_date=START, known_song_share=0.7),
        "coll_raw")

    with local_kinesis(monkeypatch) as endpoint:
        day1 = event_lines(log_path(full, DAYS[1]))
        posted = [*day1[:40], *MALFORMED, *day1[40:], *day1[:5]]  # 5 posted twice
        with collector_thread(endpoint, tmp_path / "keys") as collector:
            rejected: list[str] = []
            for start in range(0, len(posted), 100):
                batch = posted[start:start + 100]
                answer = collector.post("\n".join(batch)).json()
                rejected += [batch[event["index"]] for event in answer["events"]
                             if event["status"] == "rejected"]
        assert sorted(rejected) == sorted(MALFORMED)
        write_day(expected, DAYS[1], [line for line in posted if line not in MALFORMED])
        assert main(["stream", "--stream", STREAM, "--once", "--source", str(source),
                     "--raw-schema", "coll_raw", "--schema", "coll"]) == 0

    streamed = export_marts(lambda mart: [row.asDict() for row in spark.sql(
        f"select * from coll.{mart}").collect()])
    answer = build_expected_marts(expected, PROJECT_DIR / "seeds" / "us_states.csv")
    assert_same_marts({"expected": export_marts(lambda mart: answer[mart]),
                       "collected": streamed})
    _entries, quarantined = ledger_entries(landing_folder(state, parse_source(str(source))))
    assert sorted(row[4] for row in quarantined) == sorted(MALFORMED)
