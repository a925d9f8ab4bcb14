"""A re-shard as real Kinesis does it: the closed parent keeps its records, the children get
the new ones; `deliver` reads a child only once its parents are delivered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ingest.raw.sources import parse_source
from ingest.stream.checkpoints import Checkpoints
from ingest.stream.deliver import Delivery, Limits
from ingest.stream.delivered_objects import Destination
from tests.stream.support import lines_of, local_objects
from tests.support.raw_lines import good_event

DAY = dt.date(2018, 11, 5)


class ReshardedKinesis:
    """Stands in for boto3's client: shard 0 was split into 1 and 2, and 3 merges 1 and 2.

    Sequence numbers rise across the stream; GetRecords on a closed shard read to its end
    returns no next iterator, as Kinesis does. `reads` logs the shards in the order read.
    """

    def __init__(self) -> None:
        lines = iter(good_event(DAY, number).encode() for number in range(100))
        self.shards: dict[str, tuple[tuple[str, ...], bool, list[tuple[str, bytes]]]] = {}
        sequence = 0
        for shard_id, parents, closed, count in (
                ("shardId-000000000000", (), True, 40), ("shardId-000000000001", ("0",), True, 20),
                ("shardId-000000000002", ("0",), True, 25), ("shardId-000000000003", ("1", "2"),
                                                             False, 15)):
            records = []
            for _ in range(count):
                sequence += 1
                records.append((str(sequence), next(lines)))
            parent_ids = tuple(f"shardId-00000000000{parent}" for parent in parents)
            self.shards[shard_id] = (parent_ids, closed, records)
        self.reads: list[str] = []

    def list_shards(self, **_request: Any) -> dict[str, Any]:
        shards = []
        for shard_id, (parents, closed, records) in self.shards.items():
            numbers = {"StartingSequenceNumber": records[0][0]}
            if closed:
                numbers["EndingSequenceNumber"] = records[-1][0]
            item: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": numbers}
            item.update(zip(("ParentShardId", "AdjacentParentShardId"), parents, strict=False))
            shards.append(item)
        return {"Shards": shards}

    def get_shard_iterator(self, ShardId: str, ShardIteratorType: str,
                           StartingSequenceNumber: str = "0", **_request: Any) -> dict[str, Any]:
        after = StartingSequenceNumber if ShardIteratorType == "AFTER_SEQUENCE_NUMBER" else "0"
        return {"ShardIterator": f"{ShardId}|{after}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, after = ShardIterator.split("|")
        _parents, closed, records = self.shards[shard_id]
        self.reads.append(shard_id)
        page = [(number, data) for number, data in records if int(number) > int(after)][:Limit]
        last = page[-1][0] if page else after
        at_end = last == records[-1][0]
        return {"Records": [{"SequenceNumber": number, "Data": data, "PartitionKey": "k"}
                            for number, data in page],
                "NextShardIterator": None if closed and at_end else f"{shard_id}|{last}",
                "MillisBehindLatest": 0 if at_end else 1000}


def test_children_are_read_after_their_parents_are_delivered(tmp_path: Path) -> None:
    client = ReshardedKinesis()
    out = tmp_path / "out"
    store = Checkpoints(tmp_path / "cp.sqlite", "events", str(out))

    report = Delivery(client, "events", Destination(parse_source(str(out))), store,
                      Limits(max_records=8)).run(once=True)

    assert report.records == 100 and report.shards_finished == 3
    first_read = {shard: client.reads.index(shard) for shard in client.shards}
    last_read = {shard: len(client.reads) - 1 - client.reads[::-1].index(shard)
                 for shard in client.shards}
    assert last_read["shardId-000000000000"] < min(first_read["shardId-000000000001"],
                                                   first_read["shardId-000000000002"])
    assert max(last_read["shardId-000000000001"], last_read["shardId-000000000002"]) < (
        first_read["shardId-000000000003"])
    expected = [data for _p, _c, records in client.shards.values() for _n, data in records]
    assert lines_of(local_objects(out)) == lines_of({"all": b"\n".join(expected)})
    assert {state.finished for state in store.all().values()} == {True, False}
