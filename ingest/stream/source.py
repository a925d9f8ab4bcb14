"""`spark.readStream.format("kinesis")`: a Kinesis data stream as a Spark streaming source.

A pyspark Python Data Source (`pyspark.sql.datasource`), written with boto3. Offsets are a
JSON object, shard id → the sequence number of the last record read from that shard ("" when
nothing was read yet); Spark stores them in the query's checkpoint, so a restarted query goes
on from the last committed offset, and a micro-batch replayed after a crash reads exactly the
same records again (the range between two offsets never changes).

- `latestOffset` reads each shard after its start offset (at most `maxRecordsPerTrigger`
  records in all) and returns the last sequence number read per shard; `partitions` makes
  one input partition per shard that has new records; `read` reads that range again (in a
  Python worker) and yields one row per record.
- Re-sharding: every `latestOffset` lists the shards, so child shards appear by themselves. A
  child is read only once its parents are read to their end (a closed shard whose records
  are all read), so the records of a key keep their order; a parent gone from the stream
  (past its retention) holds the child back no longer.
- `trigger(availableNow=True)`: `prepareForTriggerAvailableNow` notes the time, and records
  that arrived later (ApproximateArrivalTimestamp) are left for the next run.

Options: `stream` (required), `region`, `endpoint` (the command line resolves them once:
ingest.kinesis.client.KinesisEndpoint; unset, boto3's chain), `maxRecordsPerTrigger`. Shards
and records are read through the Kinesis adapter (ingest.kinesis).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import (
    ReadAllAvailable,
    ReadLimit,
    ReadMaxRows,
    SupportsTriggerAvailableNow,
)
from pyspark.sql.types import StructType

from ingest.errors import IngestError
from ingest.kinesis.client import KinesisEndpoint, kinesis_client
from ingest.kinesis.records import StreamRecord, get_records, shard_iterator
from ingest.kinesis.shards import ShardInfo, list_shards

log = logging.getLogger(__name__)
NAME = "kinesis"
SCHEMA = ("stream string, shard_id string, sequence_number string, "
          "approximate_arrival_timestamp timestamp, partition_key string, data string")
NOT_READ = ""  # the offset of a shard nothing was read from yet: read from its start
Offset = dict[str, str]
_PAGE = 10_000  # get_records' largest Limit


@dataclass(frozen=True)
class KinesisOptions:
    """The source's options, checked once."""

    stream: str
    endpoint: KinesisEndpoint
    max_records: int | None = None

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> KinesisOptions:
        stream = options.get("stream")
        if not stream:
            raise IngestError('the kinesis source needs .option("stream", NAME)')
        limit = options.get("maxRecordsPerTrigger")
        if limit is not None and (not limit.isdigit() or int(limit) < 1):
            raise IngestError(f"maxRecordsPerTrigger {limit!r}: use a positive integer")
        endpoint = KinesisEndpoint(options.get("region") or None,
                                   options.get("endpoint") or None)
        return cls(stream, endpoint, int(limit) if limit else None)

    def as_options(self) -> dict[str, str]:
        """The options that parse back into these (for `spark.readStream.option`)."""
        limit = {} if self.max_records is None else {
            "maxRecordsPerTrigger": str(self.max_records)}
        return {"stream": self.stream, **limit, **self.endpoint.options()}

    def client(self) -> Any:
        """A Kinesis client (boto3's credential chain; retries throttled calls)."""
        return kinesis_client(self.endpoint, attempts=8, read_timeout=60)


def check_stream(options: KinesisOptions) -> None:
    """The stream exists and answers; IngestError in one line otherwise (before Spark)."""
    from botocore import exceptions as bx

    url = options.endpoint.url
    where = f" at {url}" if url else ""
    try:
        options.client().describe_stream_summary(StreamName=options.stream)
    except bx.ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ResourceNotFoundException":
            raise IngestError(f"Kinesis stream {options.stream!r} not found{where} "
                              "(check --stream and the region)") from None
        raise IngestError(f"Kinesis stream {options.stream!r}{where}: "
                          f"{error.get('Code')}: {error.get('Message')}") from None
    except (bx.NoCredentialsError, bx.PartialCredentialsError):
        raise IngestError("no AWS credentials found for Kinesis (set AWS_PROFILE or "
                          "AWS_ACCESS_KEY_ID/SECRET)") from None
    except bx.NoRegionError:
        raise IngestError("no AWS region for Kinesis: set --region or AWS_REGION") from None
    except bx.BotoCoreError as exc:
        raise IngestError(f"cannot reach Kinesis{where}: {exc}") from None


class ShardCursor:
    """The records of one shard after a sequence number, in order, until the reader caught
    up; `ended` then says a closed shard was read to its end."""

    def __init__(self, client: Any, stream: str, shard: ShardInfo, after: str) -> None:
        self.client, self.stream, self.shard, self.after = client, stream, shard, after
        self.ended = False

    def records(self) -> Iterator[StreamRecord]:
        shard_id = self.shard.shard_id
        iterator: str | None = shard_iterator(
            self.client, self.stream, shard_id,
            after=None if self.after == NOT_READ else self.after)
        while iterator:
            page = get_records(self.client, shard_id, iterator, _PAGE)
            yield from page.records
            iterator = page.next_iterator
            caught_up = not page.records and page.millis_behind == 0
            if not iterator or caught_up:
                self.ended = not iterator or self.shard.closed
                return


@dataclass(frozen=True)
class ShardRange(InputPartition):
    """One input partition: the records of `shard` after `after`, up to and with `last`."""

    shard: str
    after: str
    last: str


def _behind(sequence: str, last: str) -> bool:
    return int(sequence) <= int(last)


class KinesisStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    """Offsets, partitions and rows of one stream (the module docstring says how)."""

    def __init__(self, options: KinesisOptions) -> None:
        self.options = options
        self.until: dt.datetime | None = None  # availableNow: records arrived by then
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.options.client()
        return self._client

    def initialOffset(self) -> dict[str, str]:
        """Every shard listed now, from its start (TRIM_HORIZON)."""
        return {shard.shard_id: NOT_READ
                for shard in list_shards(self.client, self.options.stream)}

    def getDefaultReadLimit(self) -> ReadLimit:
        limit = self.options.max_records
        return ReadAllAvailable() if limit is None else ReadMaxRows(limit)

    def prepareForTriggerAvailableNow(self) -> None:
        self.until = dt.datetime.now(dt.UTC)
        log.info("kinesis %s: reading the records arrived by %s", self.options.stream,
                 self.until.isoformat(timespec="seconds"))

    def latestOffset(self, start: dict[str, str], limit: ReadLimit) -> dict[str, str]:
        """`start` moved past the records that can be read now, at most `limit` of them."""
        budget = limit.max_rows if isinstance(limit, ReadMaxRows) else None
        end = dict(start)
        shards = list_shards(self.client, self.options.stream)
        listed = {shard.shard_id for shard in shards}
        ended: set[str] = set()
        for shard in shards:
            end.setdefault(shard.shard_id, NOT_READ)
            waiting = [parent for parent in shard.parents if parent in listed
                       and parent not in ended]
            if waiting or budget == 0:
                continue
            cursor = ShardCursor(self.client, self.options.stream, shard, end[shard.shard_id])
            for record in cursor.records():
                if (self.until is not None and record.arrival is not None
                        and record.arrival > self.until):
                    break
                end[shard.shard_id] = record.sequence
                budget = None if budget is None else budget - 1
                if budget == 0:
                    break
            else:
                if cursor.ended:
                    ended.add(shard.shard_id)
        return end

    def partitions(self, start: dict[str, str], end: dict[str, str]) -> Sequence[InputPartition]:
        """One partition per shard with records between the two offsets."""
        return [ShardRange(shard, start.get(shard, NOT_READ), last)
                for shard, last in sorted(end.items())
                if last != NOT_READ and last != start.get(shard, NOT_READ)]

    def read(self, partition: InputPartition) -> Iterator[tuple[Any, ...]]:
        """The partition's records again, as rows (runs in a Python worker)."""
        assert isinstance(partition, ShardRange)
        shard = ShardInfo(partition.shard, (), "", None)
        cursor = ShardCursor(self.client, self.options.stream, shard, partition.after)
        for record in cursor.records():
            sequence = record.sequence
            if not _behind(sequence, partition.last):
                return
            yield (self.options.stream, partition.shard, sequence, record.arrival,
                   record.partition_key, _text(record.data))
            if sequence == partition.last:
                return

    def commit(self, end: dict[str, str]) -> None:
        """Nothing to acknowledge: Spark's checkpoint holds the offsets."""
        log.debug("kinesis %s: committed %s", self.options.stream, end)


def _text(data: bytes) -> str:
    """A record's bytes as text; bytes that are not UTF-8 become U+FFFD (the verifier
    then judges the line as it reads)."""
    return data.decode("utf-8", errors="replace")


class KinesisDataSource(DataSource):
    """The data source Spark instantiates for `format("kinesis")`."""

    @classmethod
    def name(cls) -> str:
        return NAME

    def schema(self) -> str:
        return SCHEMA

    def streamReader(self, schema: StructType) -> DataSourceStreamReader:
        return KinesisStreamReader(KinesisOptions.parse(self.options))


def register(spark: Any) -> None:
    """Make `format("kinesis")` known to this Spark session."""
    spark.dataSource.register(KinesisDataSource)
