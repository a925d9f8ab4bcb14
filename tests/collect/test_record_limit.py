"""Acknowledged means on the stream: the record limit (data + partition key <= 1 MiB) is one
definition (ingest.kinesis.records.Entry.too_large), and the collector answers `accepted`
only for what it put; a record over the limit is answered `rejected` with the reason."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.collect.app import Limits
from ingest.kinesis.records import MAX_RECORD_BYTES, Entry
from ingest.stream.produce import event_of
from tests.support.collector import DAY, Collector, collector_thread
from tests.support.raw_lines import good_event

pytestmark = pytest.mark.aws


def padded_event(size: int, number: int = 0) -> bytes:
    """A good event of exactly `size` bytes (a `padding` field the models ignore)."""
    event = json.loads(good_event(DAY, number))
    event["padding"] = ""
    bare = len(json.dumps(event, separators=(",", ":")).encode())
    event["padding"] = "x" * (size - bare)
    line = json.dumps(event, separators=(",", ":")).encode()
    assert len(line) == size
    return line


def partition_key_bytes() -> int:
    return len(event_of(padded_event(2000), None).entry.partition_key.encode())


@pytest.fixture()
def collector(kinesis_endpoint: str, tmp_path: Path) -> Iterator[Collector]:
    with collector_thread(kinesis_endpoint, tmp_path / "state",
                          Limits(max_body=3 * 1024 * 1024)) as running:
        yield running


def test_the_limit_counts_data_and_partition_key() -> None:
    assert Entry(b"x" * (MAX_RECORD_BYTES - 3), "a/b").too_large is None
    reason = Entry(b"x" * (MAX_RECORD_BYTES - 2), "a/b").too_large
    assert reason is not None and "1048577 with its partition key" in reason


def test_an_event_over_the_record_limit_is_rejected_and_what_fits_is_accepted_and_put(
        collector: Collector) -> None:
    largest = MAX_RECORD_BYTES - partition_key_bytes()
    fits, over_by_one = padded_event(largest, 1), padded_event(largest + 1, 2)
    too_large = [padded_event(1_048_571, 3), padded_event(1_048_576, 4)]
    for line in [over_by_one, *too_large]:
        answer = collector.post(line)
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == 0, answer.text
        (event,) = answer.json()["events"]
        assert event["status"] == "rejected"
        assert "over the stream's record limit" in event["reason"]
    accepted = collector.post(fits)
    assert accepted.json()["accepted"] == 1, accepted.text
    # a batch: the one over the limit is rejected, the others accepted and put
    small = [good_event(DAY, 10).encode(), good_event(DAY, 11).encode()]
    batch = collector.post(b"\n".join([small[0], too_large[0], small[1]])).json()
    assert [event["status"] for event in batch["events"]] == ["accepted", "rejected",
                                                             "accepted"]
    assert collector.stream_lines() == Counter([fits, *small])
    metrics = httpx.get(f"{collector.url}/metrics").text
    assert 'sparkify_collect_events_total{outcome="accepted"} 3.0' in metrics, metrics
