"""`produce`: replay the events of a raw source's `log_data/` onto a Kinesis stream.

Each non-blank line of each log object becomes one record, its bytes exactly as in the file
(malformed lines too: the consumer quarantines them), with the partition key
`<userId>/<sessionId>` so that a session's events stay in order on one shard (a line without
them goes under `unparsed`). Objects are replayed in key order (the contract's keys sort by
day) and the lines of an object in `ts` order (a stable sort: a line without a `ts` keeps
its place after the line before it).

Pacing: as fast as the stream takes them (`max`), a fixed number of events per second, or
the events' own `ts` timing sped up by a factor. Records go out in PutRecords batches of at
most 500 records and 5 MiB, each sent once its last event is due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from ingest.errors import IngestError
from ingest.kinesis.records import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    Entry,
    entry_of,
    put_records,
)
from ingest.progress import Progress
from ingest.raw.sources import RawSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pace:
    """How fast to send: `rate` events/s (None: as fast as possible), or ts / `speedup`."""

    rate: float | None = None
    speedup: float | None = None

    @classmethod
    def parse(cls, rate: str, speedup: float | None) -> Pace:
        """From `--rate N|max` and `--speedup F` (the speed-up wins when given)."""
        if speedup is not None:
            if speedup <= 0:
                raise IngestError(f"--speedup {speedup}: must be above 0")
            return cls(speedup=speedup)
        if rate == "max":
            return cls()
        try:
            value = float(rate)
        except ValueError:
            raise IngestError(f"--rate {rate!r}: expected events per second or 'max'") from None
        if not value > 0:
            raise IngestError(f"--rate {rate!r}: must be above 0")
        return cls(rate=value)

    def describe(self) -> str:
        if self.speedup is not None:
            return f"the events' own timing x{self.speedup:g}"
        return f"{self.rate:g} events/s" if self.rate else "as fast as possible"


@dataclass(frozen=True)
class Event:
    """One line to send, with its event time (ms; the previous line's when it has none)."""

    entry: Entry
    ts: int | None
    parsed: bool


@dataclass
class ProduceReport:
    """What a `produce` sent."""

    objects: int = 0
    events: int = 0
    unparsed: int = 0
    too_large: int = 0
    calls: int = 0
    seconds: float = 0.0

    def summary(self, stream: str) -> str:
        rate = self.events / self.seconds if self.seconds > 0 else 0.0
        extra = f", {self.too_large} over 1 MiB skipped" if self.too_large else ""
        return (f"produced {self.events} events ({self.unparsed} without user/session) from "
                f"{self.objects} log objects onto stream {stream} in {self.seconds:.1f} s: "
                f"{rate:.0f} events/s{extra}")


def event_of(line: bytes, previous_ts: int | None) -> Event:
    """The record of one line: the line itself, keyed by user and session when it has them
    (ingest.kinesis.records.entry_of), with its `ts` (the previous line's when it has none)."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        value = None
    entry = entry_of(line, value)
    if isinstance(value, dict) and "sessionId" in value:
        ts = value.get("ts")
        own_ts = ts if type(ts) is int else None
        return Event(entry, own_ts if own_ts is not None else previous_ts, True)
    return Event(entry, previous_ts, False)


def object_events(body: bytes) -> list[Event]:
    """The events of one log object, in `ts` order (blank lines are not events)."""
    events: list[Event] = []
    ts: int | None = None
    for line in body.split(b"\n"):
        line = line.removesuffix(b"\r")
        if not line.strip():
            continue
        event = event_of(line, ts)
        ts = event.ts
        events.append(event)
    # a stable sort; lines before the first ts sort first (they have nothing to go by)
    return sorted(events, key=lambda event: -1 if event.ts is None else event.ts)


def source_events(source: RawSource, report: ProduceReport, progress: Progress
                  ) -> Iterator[Event]:
    """Every event of the source's log objects, object by object in key order."""
    objects = sorted(source.list_objects("log_data"), key=lambda obj: obj.key)
    usable = [obj for obj in objects if obj.problem is None]
    for obj in objects:
        if obj.problem is not None:
            log.warning("skipping %s: %s", obj.key, obj.problem)
    if not usable:
        raise IngestError(f"{source.uri} has no JSON files under log_data/: expected "
                          "log_data/YYYY/MM/YYYY-MM-DD-events.json")
    progress.total = sum(obj.size for obj in usable)
    for obj in usable:
        report.objects += 1
        body = source.read(obj.key)
        yield from object_events(body)
        progress.advance(len(body))


def produce(client: object, stream: str, source: RawSource, pace: Pace) -> ProduceReport:
    """Send every event of `source` onto `stream` at `pace`; the report says what went."""
    report = ProduceReport()
    progress = Progress(log, f"produce {source.uri} (bytes)", 0)
    started = time.monotonic()
    batch: list[Entry] = []
    batch_bytes = 0
    first_ts: int | None = None
    log.info("producing the events of %s onto stream %s, %s", source.uri, stream,
             pace.describe())
    for index, event in enumerate(source_events(source, report, progress)):
        too_large = event.entry.too_large
        if too_large is not None:
            log.warning("a line is not put on the stream: %s", too_large)
            report.too_large += 1
            continue
        if first_ts is None:
            first_ts = event.ts
        due = started + _offset(pace, index, event.ts, first_ts)
        full = (len(batch) == MAX_BATCH_RECORDS
                or batch_bytes + event.entry.size > MAX_BATCH_BYTES)
        if batch and (full or due > time.monotonic()):
            report.calls += put_records(client, stream, batch)
            batch, batch_bytes = [], 0
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        batch.append(event.entry)
        batch_bytes += event.entry.size
        report.events += 1
        report.unparsed += not event.parsed
    if batch:
        report.calls += put_records(client, stream, batch)
    report.seconds = time.monotonic() - started
    return report


def _offset(pace: Pace, index: int, ts: int | None, first_ts: int | None) -> float:
    """Seconds after the start at which event number `index` is due."""
    if pace.speedup is not None:
        if ts is None or first_ts is None:
            return 0.0
        return max(0.0, (ts - first_ts) / 1000.0 / pace.speedup)
    if pace.rate is not None:
        return index / pace.rate
    return 0.0
