"""The Kinesis source's offsets, partitions and rows, without Spark, against moto."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pyspark.sql.streaming.datasource import ReadAllAvailable, ReadMaxRows

from ingest.errors import IngestError
from ingest.kinesis.client import KinesisEndpoint
from ingest.stream.source import (
    NOT_READ,
    KinesisOptions,
    KinesisStreamReader,
    ShardRange,
    check_stream,
)
from tests.support.kinesis import (
    FAKE_CREDENTIALS,
    REGION,
    create_stream,
    kinesis,
    moto_endpoint,
    put_lines,
)

pytestmark = pytest.mark.aws


@pytest.fixture()
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with moto_endpoint() as url:
        yield url


def _reader(endpoint: str, stream: str = "events") -> KinesisStreamReader:
    return KinesisStreamReader(KinesisOptions(stream, KinesisEndpoint(REGION, endpoint)))


def _rows(reader: KinesisStreamReader, start: dict[str, str], end: dict[str, str]) -> list[Any]:
    return [row for partition in reader.partitions(start, end) for row in reader.read(partition)]


def test_offsets_partitions_and_rows(endpoint: str) -> None:
    client = kinesis(endpoint)
    create_stream(client, "events", shards=2)
    reader = _reader(endpoint)
    start = reader.initialOffset()
    assert start == {"shardId-000000000000": NOT_READ, "shardId-000000000001": NOT_READ}
    assert reader.latestOffset(start, ReadAllAvailable()) == start, "nothing to read yet"

    put_lines(client, "events", [f'{{"n": {number}}}' for number in range(20)])
    end = reader.latestOffset(start, ReadAllAvailable())
    partitions = reader.partitions(start, end)
    assert sorted(p.shard for p in partitions if isinstance(p, ShardRange)) == sorted(
        shard for shard, last in end.items() if last != NOT_READ)
    rows = _rows(reader, start, end)
    assert sorted(row[5] for row in rows) == sorted(f'{{"n": {n}}}' for n in range(20))
    assert {row[0] for row in rows} == {"events"} and all(row[3] for row in rows)
    for shard, last in end.items():
        assert max((int(row[2]) for row in rows if row[1] == shard), default=None) == (
            int(last) if last else None)


def test_a_limit_per_trigger_and_a_restart_from_the_committed_offset(endpoint: str) -> None:
    client = kinesis(endpoint)
    create_stream(client, "events", shards=2)
    put_lines(client, "events", [f"line {number}" for number in range(10)])
    reader = _reader(endpoint)
    start = reader.initialOffset()
    first = reader.latestOffset(start, ReadMaxRows(4))
    assert len(_rows(reader, start, first)) == 4
    reader.commit(first)

    restarted = _reader(endpoint)  # a new query process, from the checkpointed offset
    second = restarted.latestOffset(first, ReadAllAvailable())
    rest = _rows(restarted, first, second)
    assert len(rest) == 6
    assert restarted.latestOffset(second, ReadAllAvailable()) == second, "all read"
    put_lines(client, "events", ["late 1", "late 2"])
    third = restarted.latestOffset(second, ReadAllAvailable())
    assert sorted(row[5] for row in _rows(restarted, second, third)) == ["late 1", "late 2"]


def test_available_now_stops_at_the_records_arrived_before_it_began(endpoint: str) -> None:
    client = kinesis(endpoint)
    create_stream(client, "events", shards=1)
    put_lines(client, "events", ["before"])
    reader = _reader(endpoint)
    start = reader.initialOffset()
    time.sleep(0.05)
    reader.prepareForTriggerAvailableNow()
    time.sleep(0.05)
    put_lines(client, "events", ["after"])
    end = reader.latestOffset(start, ReadAllAvailable())
    assert [row[5] for row in _rows(reader, start, end)] == ["before"]
    assert reader.latestOffset(end, ReadAllAvailable()) == end


def test_new_child_shards_appear_and_the_closed_parent_is_read_to_its_end(
        endpoint: str) -> None:
    client = kinesis(endpoint)
    create_stream(client, "events", shards=1)
    put_lines(client, "events", ["one", "two"])
    reader = _reader(endpoint)
    start = reader.initialOffset()
    first = reader.latestOffset(start, ReadAllAvailable())
    client.split_shard(StreamName="events", ShardToSplit="shardId-000000000000",
                       NewStartingHashKey=str(2**127))
    put_lines(client, "events", ["three"])  # moto keeps writing to the parent
    second = reader.latestOffset(first, ReadAllAvailable())
    assert set(second) == {"shardId-000000000000", "shardId-000000000001",
                           "shardId-000000000002"}
    assert [row[5] for row in _rows(reader, first, second)] == ["three"]
    assert reader.latestOffset(second, ReadAllAvailable()) == second


def test_a_missing_stream_is_one_line(endpoint: str) -> None:
    with pytest.raises(IngestError, match="Kinesis stream 'nowhere' not found at http"):
        check_stream(KinesisOptions("nowhere", KinesisEndpoint(REGION, endpoint)))
    with pytest.raises(IngestError, match="maxRecordsPerTrigger '0'"):
        KinesisOptions.parse({"stream": "s", "maxRecordsPerTrigger": "0"})
