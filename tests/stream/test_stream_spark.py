"""End to end on Kinesis (moto): events reach the stream from `produce` and from the
collector's HTTP API, `python -m ingest stream --once` lands them on the embedded Spark and
builds, and the marts are those the contract computes from the same events as files
(tests/support/expected_marts.py), with exactly the malformed lines in the quarantine.

Both ways in carry duplicate deliveries and malformed lines: `produce` sends lines as they
are in a file, the collector answers "rejected" for a malformed event and still puts it on
the stream, so the stage quarantines it with the same reason. One dbt build. A second day
on the stream then adds only its rows: a second build, `long` (make test-long).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.cli import main
from ingest.sample.generate import GenerateConfig
from tests.support.collector import collector_thread
from tests.support.stream_marts import StreamedDays, streamed_days, write_day

pytestmark = [pytest.mark.spark, pytest.mark.aws]
START = dt.date(2019, 6, 1)
DAYS = [START + dt.timedelta(days=offset) for offset in range(3)]
PRODUCED_MALFORMED = ["not json at all", '{"page": "NextSong", "ts": 1559433600000}']
POSTED_MALFORMED = ['{"page": "NextSong", "ts": 15593', "[1, 2]"]


@pytest.fixture()
def streamed(spark: Any, session_state: Path, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[StreamedDays]:
    config = GenerateConfig(songs=40, days=3, events_per_day=120, seed=5, start_date=START,
                            known_song_share=0.7)
    with streamed_days(spark, session_state, tmp_path, monkeypatch, config) as days:
        yield days


def test_produced_and_posted_events_build_like_a_file(streamed: StreamedDays,
                                                      tmp_path: Path) -> None:
    day = streamed.day(DAYS[1])
    produced, posted = day[:60] + day[:4], day[60:] + day[60:65]  # some delivered twice
    replayed = tmp_path / "replayed"
    write_day(replayed, DAYS[1], [*produced[:30], *PRODUCED_MALFORMED, *produced[30:]])
    assert main(["produce", "--stream", streamed.STREAM, "--source", str(replayed)]) == 0

    lines = [*posted[:20], *POSTED_MALFORMED, *posted[20:]]
    with collector_thread(streamed.endpoint, tmp_path / "collector",
                          stream=streamed.STREAM) as collector:
        answer = collector.post("\n".join(lines))
    assert answer.status_code == 200, answer.text
    rejected = [lines[event["index"]] for event in answer.json()["events"]
                if event["status"] == "rejected"]
    assert sorted(rejected) == sorted(POSTED_MALFORMED)

    streamed.expect(DAYS[1], produced + posted)
    streamed.stream_once()
    streamed.assert_marts_as_contract()
    quarantined = streamed.quarantined_lines()
    assert sorted(line for _key, line in quarantined) == sorted(
        PRODUCED_MALFORMED + POSTED_MALFORMED)
    assert all(key.startswith("log_data/stream/events/shardId-") for key, _ in quarantined)


@pytest.mark.long  # a second incremental build: make test-long
def test_a_second_streamed_day_adds_only_its_rows(streamed: StreamedDays) -> None:
    first = streamed.put_day(DAYS[1], twice=7, malformed=["not json at all"])
    streamed.stream_once()
    second = streamed.put_day(DAYS[2])
    streamed.stream_once()
    streamed.assert_marts_as_contract()
    assert streamed.staged_events() == len(streamed.day(DAYS[0])) + len(first) + len(second)
