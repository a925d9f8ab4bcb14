"""Load raw objects into PostgreSQL staging tables through `COPY … FROM STDIN`, in batches.

Each object is verified first (ingest.verify): good lines load, bad lines go to the
quarantine table, unreadable objects stay pending. Each batch is one transaction: delete the
rows of the objects being (re)processed, COPY the new rows, record the objects and their
quarantined lines in the ledger. A failure (a lost connection, a full disk) rolls the batch
back, so a table never holds half a batch, and the next run redoes exactly it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ingest.archive import ArchiveRequest, archive_from_ledger
from ingest.errors import IngestError
from ingest.ledger import (
    DEFAULT_MAX_ATTEMPTS,
    LedgerEntry,
    LedgerStore,
    Processed,
    TablePlan,
    plan_table,
    process_object,
    staged_tables,
)
from ingest.progress import Progress
from ingest.raw_format import RAW_TABLES, Columns, validate_identifier
from ingest.sources import RawObject, RawSource, open_source, require_raw_layout
from ingest.warehouse import (
    INGESTED_AT,
    SOURCE_KEY,
    ConnectionSettings,
    column_name,
    connect,
    now_utc,
    qualified,
    setup_statements,
    transaction,
)

log = logging.getLogger(__name__)
NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class TableLoad:
    """What one stage did to one raw table, in objects and rows."""

    table: str
    objects_loaded: int
    objects_unchanged: int
    objects_removed: int
    objects_quarantined: int
    objects_pending: int
    objects_failed: int
    rows_loaded: int
    rows_quarantined: int
    rows_total: int


@dataclass
class _Tally:
    loaded: int = 0
    quarantined: int = 0
    pending: int = 0
    failed: int = 0
    rows: int = 0
    bad_rows: int = 0

    def add(self, processed: Sequence[Processed]) -> None:
        for item in processed:
            entry = item.entry
            if entry.status in {"loaded", "quarantined"}:
                self.loaded += 1
                self.rows += entry.rows_loaded or 0
                self.bad_rows += entry.rows_quarantined or 0
            self.quarantined += entry.status == "quarantined"
            self.pending += entry.status == "pending"
            self.failed += entry.status == "failed"


def stage_postgres(source_uri: str, *, schema: str = "sparkify_raw",
                   settings: ConnectionSettings | None = None, batch_objects: int = 500,
                   batch_bytes: int = 64 * 1024 * 1024, workers: int = 8,
                   max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                   archive: ArchiveRequest | None = None) -> list[TableLoad]:
    """Bring `<schema>.song_data` and `<schema>.log_data` in line with the source."""
    validate_identifier(schema)
    if batch_objects < 1:
        raise IngestError("--batch-objects must be at least 1")
    source = open_source(source_uri)
    settings = settings or ConnectionSettings.from_env("postgres")
    store = LedgerStore("postgres", schema)
    connection = connect(settings)
    try:
        with transaction(connection) as cursor:
            for statement in setup_statements(schema, "postgres"):
                cursor.execute(statement)
            ledger = store.read(cursor)
        listing = require_raw_layout(source, staged_tables(ledger, source.uri))
        loads = []
        for table, objects in listing.items():
            plan = plan_table(table, objects, source.uri, ledger)
            job = _TableJob(connection, source, store, plan, ledger, max_attempts)
            loads.append(job.run(batch_objects, batch_bytes, workers))
        if archive is not None:
            present = {obj.key for objects in listing.values() for obj in objects}
            archive_from_ledger(connection, store, source, archive, present)
    finally:
        connection.close()
    for load in loads:
        _report(schema, load)
    return loads


def _report(schema: str, load: TableLoad) -> None:
    name = f"{schema}.{load.table}"
    if not (load.objects_loaded or load.objects_removed or load.objects_pending
            or load.objects_failed):
        log.info("%s: nothing new (%d objects already loaded, %d rows)", name,
                 load.objects_unchanged, load.rows_total)
        return
    log.info("%s: %d objects loaded (%d rows), %d unchanged, %d removed; %d rows in all",
             name, load.objects_loaded, load.rows_loaded, load.objects_unchanged,
             load.objects_removed, load.rows_total)
    if load.rows_quarantined:
        log.warning("%s: %d bad lines of %d objects quarantined (python -m ingest status)",
                    name, load.rows_quarantined, load.objects_quarantined)
    if load.objects_pending or load.objects_failed:
        log.warning("%s: %d objects unreadable, pending a retry; %d failed for good",
                    name, load.objects_pending, load.objects_failed)


class _TableJob:
    """One raw table's batches: verify, then delete + COPY + ledger in one transaction each."""

    def __init__(self, connection: Any, source: RawSource, store: LedgerStore, plan: TablePlan,
                 ledger: dict[tuple[str, str], LedgerEntry], max_attempts: int) -> None:
        self.connection = connection
        self.source = source
        self.store = store
        self.plan = plan
        self.ledger = ledger
        self.max_attempts = max_attempts
        self.schema = store.schema or ""

    def run(self, batch_objects: int, batch_bytes: int, workers: int) -> TableLoad:
        plan = self.plan
        tally = _Tally()
        progress = Progress(log, f"{self.schema}.{plan.table}: objects", len(plan.process))
        removed = list(plan.removed)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for batch in _batches(plan.process, batch_objects, batch_bytes):
                bodies = list(pool.map(lambda obj: self.source.read(obj.key), batch))
                processed = self._verify(batch, bodies)
                self._commit(batch, processed, removed)
                removed = []
                tally.add(processed)
                progress.advance(len(batch))
        if removed:
            self._commit([], [], removed)
        with transaction(self.connection) as cursor:
            cursor.execute(f"select count(*) from {qualified(self.schema, plan.table)}")
            total = int(cursor.fetchone()[0])
        return TableLoad(plan.table, tally.loaded, plan.unchanged, len(plan.removed),
                         tally.quarantined, tally.pending, tally.failed + plan.failed,
                         tally.rows, tally.bad_rows, total)

    def _verify(self, batch: Sequence[RawObject], bodies: Sequence[bytes]) -> list[Processed]:
        now = now_utc()
        return [
            process_object(self.plan.table, obj, body, self.source.uri,
                           self.ledger.get((self.plan.table, obj.key)), now, self.max_attempts)
            for obj, body in zip(batch, bodies, strict=True)
        ]

    def _commit(self, batch: Sequence[RawObject], processed: Sequence[Processed],
                removed: Sequence[str]) -> None:
        table = self.plan.table
        columns = RAW_TABLES[table]
        data = _encode(processed, columns)
        with transaction(self.connection) as cursor:
            _delete_rows(cursor, self.schema, table, [obj.key for obj in batch] + list(removed))
            self.store.forget(cursor, table, removed)
            if data:
                _copy(cursor, self.schema, table, columns, data)
            if processed:
                self.store.write(cursor, processed, now_utc())


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


def _encode(processed: Sequence[Processed], columns: Columns) -> bytes:
    """COPY text for the good records of the batch, with each row's provenance."""
    out = io.StringIO()
    for item in processed:
        if item.verified is None:
            continue
        provenance = [_escape(item.entry.key), (item.entry.loaded_at or now_utc()).isoformat()]
        for _number, record in item.verified.records:
            values = [_copy_value(record.get(name), kind) for name, kind in columns]
            out.write("\t".join([*values, *provenance]))
            out.write("\n")
    return out.getvalue().encode("utf-8")


def _copy_value(value: Any, kind: str) -> str:
    """One verified field in COPY text format."""
    if value is None:
        return NULL
    if kind == "double":
        return repr(float(value))
    return _escape(str(value))


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


def _delete_rows(cursor: Any, schema: str, table: str, keys: Sequence[str]) -> None:
    if keys:
        cursor.execute(f"delete from {qualified(schema, table)} where {SOURCE_KEY} = any(%s)",
                       (list(keys),))


def _copy(cursor: Any, schema: str, table: str, columns: Columns, data: bytes) -> None:
    names = ", ".join([*(column_name(name) for name, _kind in columns), SOURCE_KEY,
                       INGESTED_AT])
    cursor.copy_expert(f"copy {qualified(schema, table)} ({names}) from stdin",
                       io.BytesIO(data))
