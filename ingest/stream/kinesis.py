"""Small typed helpers over boto3's Kinesis Data Streams client, shared by every stream job.

`ensure_stream` creates a stream if it is missing and waits until it takes writes;
`list_shards` lists every shard, closed parents of a re-shard included, with their parent
ids; `shard_iterator` and `get_records` read one shard from a position; `put_records` writes a
batch and retries the records the service marks failed. Failures are one-line IngestErrors.

Credentials, region and endpoint come from boto3's chain, as for S3 (ingest.aws):
AWS_ENDPOINT_URL points Kinesis at a local moto server too.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from ingest.aws import aws_errors, describe_aws_error
from ingest.errors import IngestError
from ingest.settings import AwsSettings, StageSettings, StreamSettings

log = logging.getLogger(__name__)

# PutRecords limits: 500 records and 5 MiB a call; a record (data + partition key) <= 1 MiB.
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException",
              "LimitExceededException", "KMSThrottlingException"}


@dataclass(frozen=True)
class Entry:
    """One record to put: its bytes and partition key."""

    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        """What the record counts against the PutRecords limits."""
        return len(self.data) + len(self.partition_key.encode("utf-8"))

    @property
    def too_large(self) -> str | None:
        """Why the stream cannot take this record (None: it can): the one definition of
        the record limit, for the collector's answer and `produce` alike."""
        if self.size <= MAX_RECORD_BYTES:
            return None
        return (f"{len(self.data)} bytes, {self.size} with its partition key: over the "
                f"stream's record limit of {MAX_RECORD_BYTES} bytes (data + partition key)")


@dataclass(frozen=True)
class ShardInfo:
    """One shard as ListShards tells it; `ending_sequence` is set once it is closed."""

    shard_id: str
    parents: tuple[str, ...]
    starting_sequence: str
    ending_sequence: str | None

    @property
    def closed(self) -> bool:
        """A split or merge closed it: it takes no more records, its children do."""
        return self.ending_sequence is not None


@dataclass(frozen=True)
class StreamRecord:
    """One record read from a shard."""

    sequence: str
    data: bytes
    partition_key: str
    arrival: dt.datetime | None


@dataclass(frozen=True)
class RecordsPage:
    """What one GetRecords call returned; `next_iterator` is None once a closed shard is read."""

    records: list[StreamRecord]
    next_iterator: str | None
    millis_behind: int


def stream_region() -> str | None:
    """SPARKIFY_STREAM_REGION, else SPARKIFY_REGION or AWS_REGION, else None (boto3's own
    chain: AWS_DEFAULT_REGION, the profile). boto3 itself does not read AWS_REGION."""
    return StreamSettings.read().region or StageSettings.read().region


def kinesis_client(*, attempts: int = 3, connect_timeout: float = 5,
                   read_timeout: float = 30) -> Any:
    """A boto3 Kinesis client (honours AWS_ENDPOINT_URL, AWS_PROFILE, the stream region).

    The collector asks for fewer attempts and shorter timeouts: it answers 503 instead."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": attempts, "mode": "standard"},
                    connect_timeout=connect_timeout, read_timeout=read_timeout,
                    max_pool_connections=16)
    return boto3.session.Session().client("kinesis", region_name=stream_region(),
                                          config=config)


def validate_stream_name(name: str) -> str:
    """`name` when Kinesis and a file path accept it; IngestError otherwise."""
    if not _STREAM_NAME.fullmatch(name) or name in {".", ".."}:
        raise IngestError(f"invalid stream name {name!r}: use 1-128 letters, digits, "
                          "'_', '.' or '-'")
    return name


def kinesis_errors(doing: str) -> AbstractContextManager[None]:
    """Turn botocore failures into one-line IngestErrors that name the stream's problem."""
    return aws_errors(doing, describe_kinesis_error)


def describe_kinesis_error(exc: BaseException) -> str | None:
    """One line for a botocore failure of a Kinesis call (None for anything else)."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        endpoint = AwsSettings.read().endpoint_url
        return f"cannot reach the Kinesis endpoint{f' at {endpoint}' if endpoint else ''} " \
               f"({exc})"
    if isinstance(exc, bx.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code == "ResourceNotFoundException":
            return "the stream does not exist (check its name and AWS_REGION)"
        if code.startswith("KMS"):
            return f"{code}: the stream's KMS key cannot be used (check the key and its policy)"
    return describe_aws_error(exc)


def error_code(exc: BaseException | None) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def stream_status(client: Any, name: str) -> dict[str, Any] | None:
    """DescribeStreamSummary's description of the stream, or None when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        summary: dict[str, Any] = client.describe_stream_summary(
            StreamName=name)["StreamDescriptionSummary"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return summary


def ensure_stream(client: Any, name: str, shards: int, *, kms_key: str | None = None,
                  timeout: float = 300.0) -> bool:
    """Create the stream with `shards` shards if it is missing, wait until it is ACTIVE.

    With `kms_key` the stream is encrypted server-side with that KMS key (an existing
    stream too). Returns whether the stream was created.
    """
    created = False
    with kinesis_errors(f"opening stream {name!r}"):
        summary = stream_status(client, name)
        if summary is None:
            client.create_stream(StreamName=name, ShardCount=shards,
                                 StreamModeDetails={"StreamMode": "PROVISIONED"})
            log.info("created stream %s with %d shard(s)", name, shards)
            created = True
        summary = _wait_active(client, name, timeout)
        if kms_key and summary.get("EncryptionType") != "KMS":
            client.start_stream_encryption(StreamName=name, EncryptionType="KMS",
                                           KeyId=kms_key)
            log.info("stream %s: server-side encryption with KMS key %s", name, kms_key)
            _wait_active(client, name, timeout)
    return created


def _wait_active(client: Any, name: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        summary = stream_status(client, name)
        status = summary.get("StreamStatus") if summary else "DELETED"
        if summary is not None and status == "ACTIVE":
            return summary
        if status == "DELETING" or summary is None or time.monotonic() > deadline:
            raise IngestError(f"stream {name!r} is {status}, not ACTIVE "
                              f"(waited up to {timeout:.0f} s)")
        time.sleep(1.0)


def list_shards(client: Any, name: str) -> list[ShardInfo]:
    """Every shard of the stream, open and closed, in shard id order, with their parents."""
    shards: list[ShardInfo] = []
    with kinesis_errors(f"listing the shards of stream {name!r}"):
        request: dict[str, Any] = {"StreamName": name}
        while True:
            response = client.list_shards(**request)
            shards.extend(_shard_info(item) for item in response.get("Shards", []))
            token = response.get("NextToken")
            if not token:
                break
            request = {"NextToken": token}  # StreamName must not come with a token
    return sorted(shards, key=lambda shard: shard.shard_id)


def _shard_info(item: dict[str, Any]) -> ShardInfo:
    parents = tuple(item[key] for key in ("ParentShardId", "AdjacentParentShardId")
                    if item.get(key))
    numbers = item.get("SequenceNumberRange", {})
    return ShardInfo(item["ShardId"], parents, str(numbers.get("StartingSequenceNumber", "")),
                     numbers.get("EndingSequenceNumber"))


def shard_iterator(client: Any, name: str, shard_id: str, *, after: str | None = None,
                   at_timestamp: dt.datetime | None = None) -> str:
    """An iterator on one shard: after sequence `after`, at a time, or from its oldest record."""
    request: dict[str, Any] = {"StreamName": name, "ShardId": shard_id,
                               "ShardIteratorType": "TRIM_HORIZON"}
    if after is not None:
        request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
    elif at_timestamp is not None:
        request.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=at_timestamp)
    with kinesis_errors(f"reading shard {shard_id} of stream {name!r}"):
        iterator: str = client.get_shard_iterator(**request)["ShardIterator"]
    return iterator


def get_records(client: Any, iterator: str, limit: int = 10_000) -> RecordsPage:
    """One GetRecords call (at most `limit` records, 1..10000)."""
    with kinesis_errors("reading records"):
        response = client.get_records(ShardIterator=iterator, Limit=max(1, min(limit, 10_000)))
    records = [StreamRecord(str(item["SequenceNumber"]), bytes(item["Data"]),
                            str(item.get("PartitionKey", "")),
                            item.get("ApproximateArrivalTimestamp"))
               for item in response.get("Records", [])]
    return RecordsPage(records, response.get("NextShardIterator"),
                       int(response.get("MillisBehindLatest", 0)))


def put_records(client: Any, name: str, entries: Sequence[Entry], *, attempts: int = 8,
                base_delay: float = 0.1, sleep: Callable[[float], None] = time.sleep) -> int:
    """Put one batch (<= 500 records, 5 MiB); retry the failed records with backoff.

    PutRecords is not all-or-nothing: the response marks each record that failed
    (throttling, an internal error) and the others are in. Only those are sent again, in
    their order, up to `attempts` calls; a throttled call as a whole is retried the same way.
    Returns how many calls it took; IngestError when records are still out after that.
    """
    pending = list(entries)
    last_problem = ""
    for attempt in range(1, attempts + 1):
        try:
            with kinesis_errors(f"putting records on stream {name!r}"):
                response = _put(client, name, pending)
        except IngestError as exc:
            if error_code(exc.__cause__) not in _THROTTLED:
                raise
            last_problem = str(exc)
        else:
            results = response.get("Records", [])
            failed = [entry for entry, result in zip(pending, results, strict=True)
                      if result.get("ErrorCode")]
            if not failed:
                return attempt
            codes = sorted({str(result["ErrorCode"]) for result in results
                            if result.get("ErrorCode")})
            last_problem = f"{len(failed)} of {len(pending)} failed ({', '.join(codes)})"
            pending = failed
        if attempt < attempts:
            delay = min(base_delay * 2 ** (attempt - 1), 5.0) * random.uniform(0.5, 1.0)
            log.debug("put_records attempt %d: %s; retrying in %.2f s", attempt, last_problem,
                      delay)
            sleep(delay)
    raise IngestError(f"putting records on stream {name!r}: {len(pending)} record(s) still "
                      f"not accepted after {attempts} attempts (last: {last_problem})")


def _put(client: Any, name: str, entries: Sequence[Entry]) -> dict[str, Any]:
    response: dict[str, Any] = client.put_records(
        StreamName=name,
        Records=[{"Data": entry.data, "PartitionKey": entry.partition_key}
                 for entry in entries])
    return response
