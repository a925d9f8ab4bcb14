"""Sources with known log lines, and reading them back from a stream or delivered objects."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

from ingest.aws import s3_client
from ingest.kinesis.records import get_records, shard_iterator
from ingest.kinesis.shards import list_shards
from tests.support.raw_lines import good_event, log_key

DAY = dt.date(2018, 11, 2)
# lines the consumer must quarantine: sent and delivered as they are
MALFORMED = [b'{"ts": 15', b"garbage", b"[1, 2]", b'{"sessionId": 5, "ts": "late"}']


def write_handwritten(root: Path, events_per_day: int = 40) -> list[bytes]:
    """Two days of events with a duplicate, blank lines and malformed lines; the lines to
    expect (every non-blank line)."""
    sent: list[bytes] = []
    for day in (DAY, DAY + dt.timedelta(days=1)):
        lines = [good_event(day, number).encode() for number in range(events_per_day)]
        lines.insert(5, lines[3])  # a duplicate event
        lines.insert(9, b"")  # a blank line: not an event
        if day == DAY:
            lines[12:12] = MALFORMED
        path = root / log_key(day)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\n".join(lines))
        sent += [line for line in lines if line.strip()]
    return sent


def source_lines(root: Path) -> list[bytes]:
    """Every non-blank line of a source's log objects."""
    return [line.removesuffix(b"\r") for path in sorted((root / "log_data").rglob("*.json"))
            for line in path.read_bytes().split(b"\n") if line.strip()]


def stream_records(client: Any, stream: str) -> list[Any]:
    """Every record of every shard, shard by shard."""
    records = []
    for shard in list_shards(client, stream):
        iterator: str | None = shard_iterator(client, stream, shard.shard_id)
        while iterator:
            page = get_records(client, shard.shard_id, iterator)
            records += page.records
            iterator = page.next_iterator if page.records else None
    return records


def local_objects(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted((root / "log_data").rglob("*.json"))}


def s3_objects(bucket: str, prefix: str) -> dict[str, bytes]:
    client = s3_client()
    found = {}
    for item in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        key = item["Key"].removeprefix(prefix + "/")
        found[key] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def lines_of(objects: dict[str, bytes]) -> Counter[bytes]:
    return Counter(line for body in objects.values() for line in body.split(b"\n"))


def ts_day(line: bytes) -> dt.date | None:
    try:
        ts = json.loads(line).get("ts")
    except (ValueError, AttributeError):
        return None
    if type(ts) is not int:
        return None
    return dt.date(1970, 1, 1) + dt.timedelta(milliseconds=ts)
