"""ingest.kinesis: creating a stream, listing shards after a re-shard, put retries, stream
names, the region resolved once by the command line."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ingest.cli import build_parser
from ingest.errors import IngestError
from ingest.kinesis.client import KinesisEndpoint, StreamName, kinesis_client
from ingest.kinesis.commands import endpoint_of
from ingest.kinesis.records import Entry, put_records
from ingest.kinesis.shards import ensure_stream, list_shards


class FlakyKinesis:
    """Stands in for the boto3 client: fails the records whose data is in `failing` the
    first `times` times they are sent, and can throttle whole calls."""

    def __init__(self, failing: set[bytes], times: int, throttle_calls: int = 0) -> None:
        self.failing = failing
        self.times = times
        self.throttle_calls = throttle_calls
        self.calls: list[list[bytes]] = []
        self.accepted: list[bytes] = []

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        sent = [record["Data"] for record in Records]
        self.calls.append(sent)
        if self.throttle_calls:
            self.throttle_calls -= 1
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                         "Message": "slow down"}}, "PutRecords")
        results: list[dict[str, Any]] = []
        for data in sent:
            if data in self.failing and sum(data in call for call in self.calls) <= self.times:
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                self.accepted.append(data)
                results.append({"SequenceNumber": str(len(self.accepted)), "ShardId": "s-0"})
        failed = sum("ErrorCode" in result for result in results)
        return {"FailedRecordCount": failed, "Records": results}


def _entries(count: int) -> list[Entry]:
    return [Entry(f"line {number}".encode(), f"user/{number % 3}") for number in range(count)]


def test_put_records_resends_only_the_failed_records_in_order() -> None:
    client = FlakyKinesis({b"line 2", b"line 5", b"line 7"}, times=2)
    delays: list[float] = []

    calls = put_records(client, "s", _entries(10), sleep=delays.append)

    assert calls == 3
    assert client.calls[1] == client.calls[2] == [b"line 2", b"line 5", b"line 7"]
    assert sorted(client.accepted) == sorted(entry.data for entry in _entries(10))
    assert len(delays) == 2 and delays[0] <= delays[1] * 2


def test_put_records_gives_up_with_one_line() -> None:
    client = FlakyKinesis({b"line 1"}, times=100)
    with pytest.raises(IngestError, match=r"1 record\(s\) still not accepted after 4 attempts"
                                          r" \(last: 1 of 1 failed \(InternalFailure\)\)"):
        put_records(client, "s", _entries(3), attempts=4, sleep=lambda _delay: None)


def test_a_throttled_call_is_retried_whole() -> None:
    client = FlakyKinesis(set(), times=0, throttle_calls=2)
    assert put_records(client, "s", _entries(4), sleep=lambda _delay: None) == 3
    assert len(client.accepted) == 4


def test_stream_names_are_checked() -> None:
    assert StreamName("sparkify-events_1.0").value == "sparkify-events_1.0"
    for bad in ("", "..", "a/b", "x" * 129):
        with pytest.raises(IngestError, match="invalid stream name"):
            StreamName(bad)


def test_ensure_stream_and_shards_after_a_split(s3_endpoint: str) -> None:
    client = kinesis_client(KinesisEndpoint.resolve(None, s3_endpoint))
    assert ensure_stream(client, "events", 2) is True
    assert ensure_stream(client, "events", 5) is False
    before = list_shards(client, "events")
    assert [(shard.parents, shard.closed) for shard in before] == [((), False), ((), False)]

    client.update_shard_count(StreamName="events", TargetShardCount=4,
                              ScalingType="UNIFORM_SCALING")

    after = list_shards(client, "events")
    assert len(after) == 6
    closed = {shard.shard_id for shard in after if shard.closed}
    assert closed == {shard.shard_id for shard in before}
    children = [shard for shard in after if shard.parents]
    assert len(children) == 4 and all(set(shard.parents) <= closed for shard in children)


def test_a_missing_stream_is_one_line(s3_endpoint: str) -> None:
    with pytest.raises(IngestError, match="the stream does not exist"):
        list_shards(kinesis_client(KinesisEndpoint.resolve(None, s3_endpoint)), "nowhere")


OPTIONS = {"stream": ["--source", "raw"], "produce": ["--source", "raw"],
           "deliver": ["--to", "out"], "collect": []}


@pytest.mark.parametrize(("env", "region"), [
    ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),  # boto3 alone reads only AWS_DEFAULT_REGION
    ({"AWS_REGION": "eu-west-1", "SPARKIFY_REGION": "us-east-2"}, "us-east-2"),
    ({"AWS_REGION": "eu-west-1", "SPARKIFY_STREAM_REGION": "ap-south-1"}, "ap-south-1"),
    ({"AWS_DEFAULT_REGION": "ca-central-1"}, "ca-central-1"),
])
@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_the_command_line_resolves_the_stream_region_once(
    command: str, env: dict[str, str], region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command that talks to a stream resolves its region in one place
    (ingest.kinesis.commands.endpoint_of); the client takes what it is given."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "SPARKIFY_REGION",
                 "SPARKIFY_STREAM_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args([command, "--stream", "events", *OPTIONS[command]])
    endpoint = endpoint_of(args)
    assert endpoint.region == region
    assert kinesis_client(endpoint).meta.region_name == region
