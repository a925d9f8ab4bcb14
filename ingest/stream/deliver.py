"""`deliver`: what Firehose does for Redshift, the stream into raw log objects.

Every shard is read with GetRecords into its own buffer, which is written (as objects, see
ingest.stream.delivered_objects) once it holds `max_records` records or `max_bytes` bytes,
or has waited `max_seconds`. A re-shard is followed: a child shard is read only once its parents are
finished (read to their end and delivered), so a key's events stay in order.

At least once, and never under two keys: a buffer's last sequence number is recorded as
pending before its objects are written, and becomes the shard's checkpoint once they all are
(ingest.stream.checkpoints). A delivery killed in between starts again from the checkpoint,
cuts its first buffer at exactly that pending number, and so writes the same objects under
the same keys: an object may be written twice, an event is never in two objects.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ingest.errors import IngestError
from ingest.kinesis.client import error_code
from ingest.kinesis.records import RecordsPage, StreamRecord, get_records, shard_iterator
from ingest.kinesis.shards import ShardInfo, list_shards
from ingest.stream.checkpoints import Checkpoints
from ingest.stream.delivered_objects import Destination, log_objects

log = logging.getLogger(__name__)
_THROTTLED = {"ProvisionedThroughputExceededException", "LimitExceededException"}


@dataclass(frozen=True)
class Limits:
    """When a shard buffer is written: whichever comes first."""

    max_records: int = 5000
    max_bytes: int = 5 * 1024 * 1024
    max_seconds: float = 60.0
    poll_seconds: float = 1.0  # the pause once every shard is read to its end
    shards_every: float = 10.0  # how often the shard list is read again


@dataclass
class DeliverReport:
    """What a `deliver` wrote."""

    records: int = 0
    objects: int = 0
    bytes: int = 0
    shards_finished: int = 0
    seconds: float = 0.0

    def summary(self, stream: str, destination: str) -> str:
        rate = self.records / self.seconds if self.seconds > 0 else 0.0
        return (f"delivered {self.records} records of stream {stream} in {self.objects} "
                f"objects ({self.bytes / 1e6:.1f} MB) to {destination} in "
                f"{self.seconds:.1f} s: {rate:.0f} records/s")


@dataclass
class _Reader:
    """One shard being read: where, what is buffered, and the cut a crash left pending."""

    shard: ShardInfo
    iterator: str | None
    after: str | None  # the last sequence read (the checkpoint before any)
    pending: str | None  # a flush that did not finish: the next buffer ends exactly here
    buffer: list[StreamRecord] = field(default_factory=list)
    buffer_bytes: int = 0
    opened: float = 0.0
    caught_up: bool = False


class Delivery:
    """Reads every shard of `stream` and writes its records to `destination`."""

    def __init__(self, client: Any, stream: str, destination: Destination,
                 checkpoints: Checkpoints, limits: Limits,
                 stop: threading.Event | None = None) -> None:
        self.client = client
        self.stream = stream
        self.destination = destination
        self.checkpoints = checkpoints
        self.limits = limits
        self.stop = stop or threading.Event()
        self.report = DeliverReport()
        self._readers: dict[str, _Reader] = {}
        self._shards: list[ShardInfo] = []
        self._shards_read_at = float("-inf")

    def run(self, *, once: bool) -> DeliverReport:
        """Deliver until stopped; with `once`, until every shard is read to its end."""
        started = time.monotonic()
        try:
            while not self.stop.is_set():
                busy = self._pass()
                self._flush_old()
                if not busy:
                    if once:
                        break
                    self.stop.wait(self.limits.poll_seconds)
            for reader in list(self._readers.values()):
                self._flush(reader, len(reader.buffer))
        finally:
            self.report.seconds = time.monotonic() - started
        return self.report

    def _readable(self) -> list[ShardInfo]:
        """Unfinished shards whose parents are finished (or gone with the retention period)."""
        now = time.monotonic()
        if now - self._shards_read_at >= self.limits.shards_every:
            self._shards = list_shards(self.client, self.stream)
            self._shards_read_at = now
        known = {shard.shard_id for shard in self._shards}
        states = self.checkpoints.all()
        done = {shard_id for shard_id, state in states.items() if state.finished}
        return [shard for shard in self._shards if shard.shard_id not in done
                and all(parent in done or parent not in known for parent in shard.parents)]

    def _pass(self) -> bool:
        """Read each readable shard once; whether there is more to read now."""
        busy = False
        for shard in self._readable():
            reader = self._readers.get(shard.shard_id) or self._open(shard)
            reader.shard = shard
            page = self._read(reader)
            if page is None:
                busy = True
                continue
            self._take(reader, page.records)
            reader.iterator = page.next_iterator
            caught_up = page.millis_behind == 0 and not page.records
            if caught_up and not reader.caught_up:
                log.info("shard %s: read to its latest record (%d buffered)", shard.shard_id,
                         len(reader.buffer))
            reader.caught_up = caught_up
            if page.next_iterator is None or (shard.closed and reader.caught_up):
                self._finish(reader)
                busy = True  # its children are readable now
            elif not reader.caught_up:
                busy = True
        return busy

    def _open(self, shard: ShardInfo) -> _Reader:
        state = self.checkpoints.get(shard.shard_id)
        if state.pending:
            log.info("shard %s: a delivery stopped while writing the records up to %s; "
                     "writing them again under the same keys", shard.shard_id, state.pending)
        reader = _Reader(shard, None, state.sequence, state.pending)
        log.info("shard %s: reading after %s", shard.shard_id,
                 state.sequence or "its oldest record")
        self._readers[shard.shard_id] = reader
        return reader

    def _read(self, reader: _Reader) -> RecordsPage | None:
        """One GetRecords call on the reader's shard; None when throttled (try again)."""
        shard_id = reader.shard.shard_id
        if reader.iterator is None:
            reader.iterator = shard_iterator(self.client, self.stream, shard_id,
                                             after=reader.after)
        limit = 10_000 if reader.pending else self.limits.max_records - len(reader.buffer)
        try:
            return get_records(self.client, shard_id, reader.iterator, limit)
        except IngestError as exc:
            code = error_code(exc.__cause__)
            if code == "ExpiredIteratorException":
                log.info("shard %s: the iterator expired; reading on after %s", shard_id,
                         reader.after)
                reader.iterator = None
                return None
            if code in _THROTTLED:
                log.debug("shard %s: throttled (%s)", shard_id, code)
                self.stop.wait(self.limits.poll_seconds)
                return None
            raise

    def _take(self, reader: _Reader, records: list[StreamRecord]) -> None:
        """Buffer `records`; write every buffer prefix that is full (or a pending cut)."""
        if records and not reader.buffer:
            reader.opened = time.monotonic()
        for record in records:
            reader.buffer.append(record)
            reader.buffer_bytes += len(record.data)
            reader.after = record.sequence
            if reader.pending is not None:
                if record.sequence == reader.pending:
                    self._flush(reader, len(reader.buffer))
            elif (len(reader.buffer) >= self.limits.max_records
                  or reader.buffer_bytes >= self.limits.max_bytes):
                self._flush(reader, len(reader.buffer))

    def _flush_old(self) -> None:
        now = time.monotonic()
        for reader in self._readers.values():
            if (reader.buffer and reader.pending is None
                    and now - reader.opened >= self.limits.max_seconds):
                self._flush(reader, len(reader.buffer))

    def _flush(self, reader: _Reader, count: int) -> None:
        """Write the first `count` buffered records, then move the shard's checkpoint."""
        records = reader.buffer[:count]
        if not records:
            return
        shard_id = reader.shard.shard_id
        if reader.pending is not None and records[-1].sequence != reader.pending:
            log.warning("shard %s: records up to %s were pending but only %s is left to read "
                        "(the retention period dropped them?)", shard_id, reader.pending,
                        records[-1].sequence)
        last = records[-1].sequence
        self.checkpoints.begin_flush(shard_id, last)
        objects = log_objects(self.stream, shard_id, records)
        for obj in objects:
            self.destination.write(obj)
            log.debug("wrote %s (%d records)", obj.key, obj.records)
        self.checkpoints.end_flush(shard_id, last)
        self.report.records += len(records)
        self.report.objects += len(objects)
        self.report.bytes += sum(len(obj.body) for obj in objects)
        log.info("shard %s: %d records up to %s in %d object(s)", shard_id, len(records), last,
                 len(objects))
        reader.buffer = reader.buffer[count:]
        reader.buffer_bytes = sum(len(record.data) for record in reader.buffer)
        reader.opened = time.monotonic()
        reader.pending = None

    def _finish(self, reader: _Reader) -> None:
        """The closed shard is read to its end: deliver the rest, let its children be read."""
        self._flush(reader, len(reader.buffer))
        self.checkpoints.finish(reader.shard.shard_id)
        del self._readers[reader.shard.shard_id]
        self._shards_read_at = float("-inf")
        self.report.shards_finished += 1
        log.info("shard %s is closed and delivered: its children are read next",
                 reader.shard.shard_id)
