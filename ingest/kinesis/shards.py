"""A stream and its shards: creating a stream, waiting for it, listing every shard.

`ensure_stream` creates a stream if it is missing and waits until it takes writes;
`list_shards` lists every shard, closed parents of a re-shard included, with their parent
ids, parents before children (shard ids grow with creation).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from ingest.errors import IngestError
from ingest.kinesis.client import error_code, kinesis_errors

log = logging.getLogger(__name__)


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
