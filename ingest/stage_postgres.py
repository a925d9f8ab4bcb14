"""Load raw objects into PostgreSQL staging tables through `COPY … FROM STDIN`, in batches.

Each batch is one transaction: delete the rows of objects being replaced, COPY the new rows,
record the objects in the ledger. A failure anywhere (a bad line, a lost connection) rolls
the batch back, so a table never holds half a batch, and the next run redoes exactly it.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ingest.errors import IngestError
from ingest.progress import Progress
from ingest.raw_format import RAW_TABLES, Columns, validate_identifier
from ingest.sources import RawObject, RawSource, open_source, require_raw_layout
from ingest.warehouse import (
    LEDGER,
    SOURCE_KEY,
    ConnectionSettings,
    TablePlan,
    column_name,
    connect,
    ledger_rows,
    now_utc,
    plan_table,
    qualified,
    read_ledger,
    setup_statements,
    transaction,
)

log = logging.getLogger(__name__)
NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class TableLoad:
    table: str
    objects_loaded: int
    objects_unchanged: int
    objects_removed: int
    rows_loaded: int
    rows_total: int


def stage_postgres(source_uri: str, *, schema: str = "sparkify_raw",
                   settings: ConnectionSettings | None = None, batch_objects: int = 500,
                   batch_bytes: int = 64 * 1024 * 1024, workers: int = 8) -> list[TableLoad]:
    """Bring `<schema>.song_data` and `<schema>.log_data` in line with the source."""
    validate_identifier(schema)
    if batch_objects < 1:
        raise IngestError("--batch-objects must be at least 1")
    source = open_source(source_uri)
    listing = require_raw_layout(source)
    settings = settings or ConnectionSettings.from_env("postgres")
    connection = connect(settings)
    try:
        with transaction(connection) as cursor:
            for statement in setup_statements(schema, "postgres"):
                cursor.execute(statement)
            ledger = read_ledger(cursor, schema)
        loads = []
        for table, objects in listing.items():
            plan = plan_table(table, objects, source.uri, ledger)
            loads.append(_load_table(connection, source, schema, plan,
                                     batch_objects, batch_bytes, workers))
    finally:
        connection.close()
    for load in loads:
        log.info("%s.%s: %d objects loaded (%d rows), %d unchanged, %d removed; %d rows in all",
                 schema, load.table, load.objects_loaded, load.rows_loaded,
                 load.objects_unchanged, load.objects_removed, load.rows_total)
    return loads


def _load_table(connection: Any, source: RawSource, schema: str, plan: TablePlan,
                batch_objects: int, batch_bytes: int, workers: int) -> TableLoad:
    columns = RAW_TABLES[plan.table]
    batches = list(_batches(plan.load, batch_objects, batch_bytes))
    progress = Progress(log, f"{schema}.{plan.table}: objects", len(plan.load))
    pending_removal = list(plan.removed)
    stale = set(plan.stale)
    rows_loaded = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for batch in batches:
            bodies = list(pool.map(lambda obj: source.read(obj.key), batch))
            try:
                encoded, counts = _encode_batch(source.uri, batch, bodies, columns)
            except IngestError as exc:
                raise IngestError(
                    f"{exc}. {schema}.{plan.table}: {progress.done} of {len(plan.load)} objects "
                    "were loaded before this batch and are recorded; this batch and later ones "
                    "were not. Fix or remove the object and stage again."
                ) from exc
            replaced = [obj.key for obj in batch if obj.key in stale] + pending_removal
            with transaction(connection) as cursor:
                _forget(cursor, schema, plan.table, replaced)
                _copy(cursor, schema, plan.table, columns, encoded)
                _record(cursor, schema, plan.table, batch, source.uri, counts)
            pending_removal = []
            rows_loaded += sum(counts.values())
            progress.advance(len(batch))
    if pending_removal:
        with transaction(connection) as cursor:
            _forget(cursor, schema, plan.table, pending_removal)
    with transaction(connection) as cursor:
        cursor.execute(f"select count(*) from {qualified(schema, plan.table)}")
        total = int(cursor.fetchone()[0])
    return TableLoad(plan.table, len(plan.load), plan.unchanged, len(plan.removed),
                     rows_loaded, total)


def _batches(objects: Sequence[RawObject], max_objects: int,
             max_bytes: int) -> Iterator[list[RawObject]]:
    batch: list[RawObject] = []
    size = 0
    for obj in objects:
        if batch and (len(batch) >= max_objects or size + obj.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(obj)
        size += obj.size
    if batch:
        yield batch


def _encode_batch(source_uri: str, batch: Sequence[RawObject], bodies: Sequence[bytes],
                  columns: Columns) -> tuple[bytes, dict[str, int]]:
    """COPY text for the whole batch, checked before any statement runs."""
    out = io.StringIO()
    counts: dict[str, int] = {}
    for obj, body in zip(batch, bodies, strict=True):
        counts[obj.key] = 0
        key_field = _escape(obj.key)
        for number, record in raw_records(f"{source_uri}/{obj.key}", body):
            values = [_copy_value(record.get(name), kind, name, obj.key, number)
                      for name, kind in columns]
            out.write("\t".join([*values, key_field]))
            out.write("\n")
            counts[obj.key] += 1
    return out.getvalue().encode("utf-8"), counts


def raw_records(where: str, body: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for every non-blank line; IngestError on anything else."""
    for number, line in enumerate(body.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
        except UnicodeDecodeError as exc:
            raise IngestError(f"{where} line {number}: not UTF-8 ({exc.reason})") from exc
        except ValueError as exc:
            raise IngestError(f"{where} line {number}: not valid JSON ({exc})") from exc
        if not isinstance(record, dict):
            raise IngestError(f"{where} line {number}: a JSON {type(record).__name__}, "
                              "expected an object")
        yield number, record


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number the raw format allows")


def _copy_value(value: Any, kind: str, name: str, key: str, number: int) -> str:
    """One field in COPY text format, checked against the contract's type."""
    if value is None:
        return NULL
    if kind in {"int", "bigint"} and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if kind == "double" and isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value))
    if kind == "string" and isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value)
        if "\x00" in text:
            raise IngestError(f"{key} line {number}: field {name!r} holds a NUL character")
        return _escape(text)
    expected = {"int": "an integer", "bigint": "an integer", "double": "a number",
                "string": "a string"}[kind]
    raise IngestError(f"{key} line {number}: field {name!r} is {json.dumps(value)[:60]}, "
                      f"expected {expected}")


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


def _forget(cursor: Any, schema: str, table: str, keys: Sequence[str]) -> None:
    if not keys:
        return
    cursor.execute(f"delete from {qualified(schema, table)} where {SOURCE_KEY} = any(%s)",
                   (list(keys),))
    cursor.execute(f"delete from {qualified(schema, LEDGER)} "
                   "where table_name = %s and object_key = any(%s)", (table, list(keys)))


def _copy(cursor: Any, schema: str, table: str, columns: Columns, data: bytes) -> None:
    names = ", ".join([*(column_name(name) for name, _kind in columns), SOURCE_KEY])
    cursor.copy_expert(f"copy {qualified(schema, table)} ({names}) from stdin",
                       io.BytesIO(data))


def _record(cursor: Any, schema: str, table: str, batch: Sequence[RawObject],
            source_uri: str, counts: dict[str, int]) -> None:
    from psycopg2.extras import execute_values

    execute_values(
        cursor,
        f"insert into {qualified(schema, LEDGER)} (table_name, object_key, source_uri, "
        "fingerprint, size_bytes, row_count, loaded_at) values %s",
        ledger_rows(table, batch, source_uri, counts, now_utc()),
    )
