"""What the verified landing holds, as parquet: the arrow schemas and one object's rows.

Rendering runs in the worker process that verified the object (stage_core's `render`):
it turns the verified records into arrow tables with the raw contract's types, so Spark
reads the files with the types its tables declare, without casts:

- `int` → int32, `bigint` → int64, `double` → float64, `string` → utf8 (an integer in a
  string field, which the contract admits, is kept as its digits);
- `_source_key` utf8, `_ingested_at` a UTC timestamp in microseconds (Spark's TIMESTAMP).

Events are split by `event_date`, the UTC date of `ts` (epoch milliseconds): exactly what
Spark's `cast(timestamp_millis(ts) as date)` gives in a UTC session. A daily log file's
events all fall on its date (the verifier quarantines the others), so one part is the rule,
but a file without a date in its name may hold several.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingest.ledger.db import now_utc
from ingest.raw.contract import PROVENANCE, RAW_TABLES
from ingest.stage.process import Processed

PARTITION_COLUMN = "event_date"
# The partition Spark reads as a null event_date: a `ts` whose date no calendar holds.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_MS_PER_DAY = 86_400_000
_EPOCH = dt.date(1970, 1, 1)
_ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "string": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9.-]+")


def arrow_schema(table: str) -> pa.Schema:
    """The columns of one raw table's landed files (the partition column is the folder)."""
    return pa.schema([pa.field(name, _ARROW_TYPES[kind])
                      for name, kind in RAW_TABLES[table] + PROVENANCE])


RowTuples = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Part:
    """One object's rows in one partition (`event_date=YYYY-MM-DD`; "" for songs).

    Log rows come as an arrow table (thousands a file: columnar is cheap to pass between
    processes); a song's one row as a tuple in `arrow_schema` order, since an arrow table
    per song would cost more to pass than the row itself (`as_table` makes them one).
    """

    partition: str
    rows: pa.Table | RowTuples

    @property
    def num_rows(self) -> int:
        return self.rows.num_rows if isinstance(self.rows, pa.Table) else len(self.rows)


def render_parts(table: str, item: Processed) -> list[Part]:
    """An object's good records, one part per partition (none when it has no records)."""
    assert item.verified is not None
    records = [record for _number, record in item.verified.records]
    if not records:
        return []
    columns = _columns(table, records, item.entry.key, item.entry.loaded_at)
    if table != "log_data":
        return [Part("", list(zip(*columns, strict=True)))]
    rows = _from_columns(table, columns)
    day_numbers = [record["ts"] // _MS_PER_DAY for record in records]
    if len(set(day_numbers)) == 1:
        return [Part(_partition_of(records[0]["ts"]), rows)]
    days = pa.array([_partition_of(record["ts"]) for record in records], type=pa.string())
    return [Part(day, rows.filter(pc.equal(days, day)))
            for day in sorted(set(days.to_pylist()))]


def as_table(table: str, parts: list[Part]) -> pa.Table:
    """The rows of `parts` as one arrow table of `table`'s schema."""
    tables = [part.rows for part in parts if isinstance(part.rows, pa.Table)]
    tuples = [row for part in parts if not isinstance(part.rows, pa.Table)
              for row in part.rows]
    if tuples or not tables:
        names = arrow_schema(table).names
        columns = [list(column) for column in zip(*tuples, strict=True)] if tuples else [
            [] for _name in names]
        tables.append(_from_columns(table, columns))
    return pa.concat_tables(tables)


def event_date(ts: int) -> dt.date | None:
    """The UTC date of epoch milliseconds; None beyond the calendar (year 1 to 9999)."""
    try:
        return _EPOCH + dt.timedelta(days=ts // _MS_PER_DAY)
    except OverflowError:
        return None


def _partition_of(ts: int) -> str:
    day = event_date(ts)
    return f"{PARTITION_COLUMN}={day.isoformat() if day else NULL_PARTITION}"


def partition_value(partition: str) -> dt.date | None:
    """The date of a partition folder name; None for the null partition or a foreign name."""
    name, _sep, value = partition.partition("=")
    if name != PARTITION_COLUMN or value == NULL_PARTITION:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def log_file_name(key: str) -> str:
    """The file of one log object in a partition folder: readable, unique, never hidden.

    Spark skips names starting with `.` or `_`; keys may hold any character a path allows,
    so the name keeps the key's last segment made safe, plus a digest of the whole key.
    """
    readable = _UNSAFE_NAME.sub("-", key.rsplit("/", 1)[-1]).strip(".-")[:80] or "object"
    digest = hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]
    return f"{readable}-{digest}.parquet"


def song_bucket(key: str) -> str:
    """The bucket file of a song: its first letter folder (`song_data/A/…` → `A.parquet`)."""
    parts = key.split("/")
    name = parts[1] if len(parts) > 2 and parts[1].isascii() and parts[1].isalnum() else "other"
    return f"{name}.parquet"


def _columns(table: str, records: list[dict[str, Any]], key: str,
             loaded_at: dt.datetime | None) -> list[list[Any]]:
    """The values of each column of `arrow_schema(table)`, in its order."""
    columns = [[record.get(name) for record in records] for name, _kind in RAW_TABLES[table]]
    stamp = loaded_at or now_utc()
    return [*columns, [key] * len(records), [stamp] * len(records)]


def _from_columns(table: str, columns: list[list[Any]]) -> pa.Table:
    schema = arrow_schema(table)
    return pa.Table.from_arrays([_array(values, column.type)
                                 for values, column in zip(columns, schema, strict=True)],
                                schema=schema)


def _array(values: list[Any], kind: pa.DataType) -> pa.Array:
    """One column; the verifier admits an int where a double or a string goes, which
    arrow refuses for a string or an int beyond 2**53: those are converted first."""
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        convert = float if pa.types.is_floating(kind) else str
        return pa.array([convert(value) if type(value) is int else value for value in values],
                        type=kind)
