"""Jepsen-style, end to end into the marts: a day of events posted to the collector by
concurrent clients while its process is killed with -9 (then a new one on the same port,
and the clients send again what got no answer, as clients do, while the stream's endpoint
goes away for 1.5 s), then stopped with SIGTERM; malformed events and an oversized one
among them. After `stream --once`, every event
answered accepted is in the marts exactly once (they equal the contract's marts of the day,
though the stream holds duplicates of the events whose answer was lost), the malformed ones
are in the quarantine once each, and the oversized one, answered rejected, is nowhere.

(The count of every answer at the stream, through the same faults, is in
tests/collect/test_jepsen.py.)"""

from __future__ import annotations

import datetime as dt
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.sample.generate import GenerateConfig
from tests.collect.test_jepsen import Answers, _load
from tests.collect.test_record_limit import padded_event
from tests.support.collector import collector_process, free_port
from tests.support.kinesis import outage
from tests.support.stream_marts import StreamedDays, streamed_days

pytestmark = [pytest.mark.spark, pytest.mark.aws, pytest.mark.faults]
START = dt.date(2019, 7, 1)
MALFORMED = ['{"page": "NextSong", "ts": 15614', "[3, 4]"]


@pytest.fixture()
def streamed(spark: Any, session_state: Path, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[StreamedDays]:
    config = GenerateConfig(songs=40, days=2, events_per_day=300, seed=11, start_date=START,
                            known_song_share=0.7)
    with streamed_days(spark, session_state, tmp_path, monkeypatch, config) as days:
        yield days


def test_accepted_events_are_in_the_marts_once_after_kill_9_and_sigterm(
        streamed: StreamedDays, tmp_path: Path) -> None:
    day = [line.encode() for line in streamed.day(START + dt.timedelta(days=1))]
    oversized = padded_event(1_048_576, 7000)
    state, port = tmp_path / "collector", free_port()
    answers = Answers()
    with collector_process(streamed.endpoint, state, "--max-body", "3000000", port=port,
                           stream=streamed.STREAM) as (process, collector):
        answers.post(collector.url, collector.key,
                     [*(line.encode() for line in MALFORMED), oversized])
        load = _load(answers, collector.url, collector.key, day, clients=4, batch=5,
                     pause=0.01)
        time.sleep(0.4)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        load.join(120)
    assert answers.unanswered, answers.statuses  # the kill cut requests off
    with collector_process(streamed.endpoint, state, "--max-body", "3000000", port=port,
                           stream=streamed.STREAM) as (process, collector):
        # the stream goes away as the clients send again: answered 503, sent again later
        down = threading.Thread(target=outage, args=(streamed.endpoint, 1.5))
        down.start()
        time.sleep(0.2)
        for _attempt in range(8):  # the clients send again what got no 200
            again, answers.unanswered = answers.unanswered, []
            _load(answers, collector.url, collector.key, again, clients=4, batch=5).join(120)
            down.join()
            if not answers.unanswered:
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    assert answers.unanswered == []
    assert answers.statuses["503"] > 0, answers.statuses  # the outage was hit
    assert set(answers.accepted) == set(day)
    assert set(answers.rejected) == {*(line.encode() for line in MALFORMED), oversized}
    assert "record limit" in answers.rejected[oversized]
    on_stream = streamed_lines(streamed)
    assert on_stream.get(oversized, 0) == 0

    streamed.expect(START + dt.timedelta(days=1), [line.decode() for line in day])
    streamed.stream_once()
    streamed.assert_marts_as_contract()  # each accepted event once, duplicates or not
    quarantined = sorted(line for _key, line in streamed.quarantined_lines())
    assert quarantined == sorted(MALFORMED)


def streamed_lines(streamed: StreamedDays) -> dict[bytes, int]:
    from collections import Counter

    from tests.stream.support import stream_records

    return Counter(record.data for record in stream_records(streamed.client, streamed.STREAM))
