"""Records: the one StreamRecord read from a shard, the Entry to put, getting and putting.

`shard_iterator` and `get_records` read one shard from a position; `put_records` writes a
batch and retries the records the service marks failed. Failures are one-line IngestErrors.
An event line's partition key is `<userId>/<sessionId>` (`event_entry`): a session's events
stay in order on one shard, whoever puts them (`produce`, the collector).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ingest.errors import IngestError
from ingest.kinesis.client import error_code, kinesis_errors

log = logging.getLogger(__name__)

# PutRecords limits: 500 records and 5 MiB a call; a record (data + partition key) <= 1 MiB.
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
UNPARSED_KEY = "unparsed"  # the partition key of a line without user and session
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


def entry_of(line: bytes, value: object) -> Entry:
    """The record of an event line whose parsed JSON is `value` (None: not JSON)."""
    if isinstance(value, dict) and "sessionId" in value:
        return Entry(line, f"{value.get('userId', '')}/{value['sessionId']}"[:256])
    return Entry(line, UNPARSED_KEY)


def event_entry(line: bytes) -> Entry:
    """The record of one event line, keyed by its user and session when it has them."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        value = None
    return entry_of(line, value)


@dataclass(frozen=True)
class StreamRecord:
    """One record of a shard: the shard, its sequence number, its bytes, its partition key
    and when the stream received it (unknown for a record Spark's source hands on)."""

    shard: str
    sequence: str
    data: bytes
    partition_key: str = ""
    arrival: dt.datetime | None = None


@dataclass(frozen=True)
class RecordsPage:
    """What one GetRecords call returned; `next_iterator` is None once a closed shard is read."""

    records: list[StreamRecord]
    next_iterator: str | None
    millis_behind: int


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


def get_records(client: Any, shard_id: str, iterator: str, limit: int = 10_000) -> RecordsPage:
    """One GetRecords call on shard `shard_id` (at most `limit` records, 1..10000)."""
    with kinesis_errors("reading records"):
        response = client.get_records(ShardIterator=iterator, Limit=max(1, min(limit, 10_000)))
    records = [StreamRecord(shard_id, str(item["SequenceNumber"]), bytes(item["Data"]),
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
