"""`deliver`'s shard buffer as raw log objects the stage accepts, and writing them.

Key layout (below the destination root; `delivered_key`):

    log_data/YYYY/MM/<stream>/<shard id>/<first seq>-<last seq>-YYYY-MM-DD-events.json

It is not the micro-batch layout of `stream` (ingest.stream.batch_objects) because these
objects are written to a raw source that a later stage lists like any other: the date in
their name is what binds them to one day, as a daily log file is bound.

The stage binds a log object to the UTC day its name ends with (`YYYY-MM-DD-events.json`,
ingest.raw.verify.file_date): every event of it must fall on that day, and an incremental
build rebuilds only the days whose objects changed. A buffer holds whatever the shard had,
often events of several days, so it is written as one object per event day: its records
with a `ts` on that day, in sequence order. A record without a readable `ts` (malformed: the
stage quarantines it) goes with the record before it in the buffer (the first one after it
when there is none; with no dated record at all, the day the stream received it).

The key names the stream, the shard and the first and last sequence numbers of the records in
that object: the same buffer always gives the same objects under the same keys, so a buffer
written again after a crash overwrites identical objects. A body is the records' bytes, one a
line, without a trailing newline: the raw format.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ingest.aws import aws_errors, check_bucket, s3_client
from ingest.errors import IngestError
from ingest.kinesis.records import StreamRecord
from ingest.raw.sources import LocalLocation, S3Location, SourceLocation

_MS_PER_DAY = 86_400_000
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class LogObject:
    """One object to write: its key below the destination and its body."""

    key: str
    body: bytes
    records: int


def record_day(data: bytes) -> dt.date | None:
    """The UTC day of a record's `ts`, or None when it has no readable one."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    ts = value.get("ts") if isinstance(value, dict) else None
    if type(ts) is not int:
        return None
    try:
        return _EPOCH + dt.timedelta(days=ts // _MS_PER_DAY)
    except OverflowError:
        return None


def _days(records: Sequence[StreamRecord]) -> list[dt.date]:
    """Each record's object day (see the module docstring for records without a `ts`)."""
    own = [record_day(record.data) for record in records]
    known = [day for day in own if day is not None]
    if not known:
        arrival = records[0].arrival if records else None
        fallback = arrival.astimezone(dt.UTC).date() if arrival else _EPOCH
        return [fallback] * len(records)
    days: list[dt.date] = []
    current = known[0]
    for day in own:
        current = day or current
        days.append(current)
    return days


def delivered_key(stream: str, shard_id: str, first: str, last: str, day: dt.date) -> str:
    """The key of the object holding a shard's records `first` to `last` of one event day."""
    name = f"{first}-{last}-{day:%Y-%m-%d}-events.json"
    return f"log_data/{day:%Y}/{day:%m}/{stream}/{shard_id}/{name}"


def log_objects(stream: str, shard_id: str, records: Sequence[StreamRecord]
                ) -> list[LogObject]:
    """The objects of one shard buffer: one per event day, keys in day order."""
    by_day: dict[dt.date, list[StreamRecord]] = {}
    for record, day in zip(records, _days(records), strict=True):
        by_day.setdefault(day, []).append(record)
    objects = []
    for day in sorted(by_day):
        group = by_day[day]
        key = delivered_key(stream, shard_id, group[0].sequence, group[-1].sequence, day)
        body = b"\n".join(record.data.rstrip(b"\r\n") for record in group)
        objects.append(LogObject(key, body, len(group)))
    return objects


class Destination:
    """Where objects are written: a local folder (atomically, fsync'd) or an S3 prefix."""

    def __init__(self, location: SourceLocation) -> None:
        if not isinstance(location, LocalLocation | S3Location):
            raise IngestError(f"cannot deliver into {location.uri}: give a folder or "
                              "s3://bucket/prefix")
        self.location: LocalLocation | S3Location = location
        self._client: Any = None
        if isinstance(location, S3Location):
            self._client = s3_client()
            check_bucket(self._client, location.bucket)
        else:
            location.root.mkdir(parents=True, exist_ok=True)

    @property
    def uri(self) -> str:
        return self.location.uri

    def write(self, obj: LogObject) -> None:
        """Write one object whole: readers see the old one or the new one, never a part."""
        if isinstance(self.location, LocalLocation):
            write_durably(self.location.root / obj.key, obj.body)
            return
        with aws_errors(f"writing {self.location.uri}/{obj.key}"):
            self._client.put_object(Bucket=self.location.bucket,
                                    Key=self.location.key(obj.key), Body=obj.body)


def write_durably(path: Path, body: bytes) -> None:
    """Write `path` through a temporary file, fsync it, rename it in place, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".deliver-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
