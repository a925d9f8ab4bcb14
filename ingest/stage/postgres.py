"""Load raw objects into PostgreSQL staging tables through `COPY … FROM STDIN`: a sink of the
staging core (ingest.stage.core), which verifies every object first.

Each batch is one transaction: delete the rows of the objects being (re)processed (and of
objects pruned), COPY the new rows, record the objects and their quarantined lines in the
ledger. A failure (a lost connection, a full disk) rolls the batch back, so a table never
holds half a batch, and the next run redoes exactly it.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from typing import Any

from ingest.errors import IngestError
from ingest.ledger.db import now_utc, transaction
from ingest.ledger.store import LedgerStore
from ingest.paths import StatePaths
from ingest.raw.contract import RAW_TABLES, SOURCE_KEY
from ingest.raw.sources import RawSource
from ingest.safe_text import printable
from ingest.sql_names import qualified, validate_identifier
from ingest.stage.core import (
    Ledger,
    Rendered,
    StageOptions,
    StageReport,
    stage,
)
from ingest.stage.process import Processed
from ingest.stage.warehouse_tables import load_columns, setup_statements
from ingest.warehouse import ConnectionSettings, connect_or_create

log = logging.getLogger(__name__)
NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_LINE = re.compile(r"COPY \S+, line (\d+)")
# One object's rows in COPY text, and the raw line number of each row.
CopyRows = tuple[str, list[int]]


def stage_postgres(source: RawSource, *, schema: str, settings: ConnectionSettings,
                   state: StatePaths, options: StageOptions) -> StageReport:
    """Bring `<schema>.song_data` and `<schema>.log_data` in line with the source."""
    validate_identifier(schema)
    sink = PostgresSink(settings, schema)
    try:
        return stage(source, sink, options, locks=state.locks,
                     lock_identity=("postgres", settings.host, str(settings.port),
                                    settings.database, schema))
    finally:
        sink.close()


def copy_rows(table: str, item: Processed) -> CopyRows:
    """COPY text for the good records of one object, with each row's provenance."""
    assert item.verified is not None
    columns = RAW_TABLES[table]
    provenance = [_escape(item.entry.key), (item.entry.loaded_at or now_utc()).isoformat()]
    out = io.StringIO()
    for _number, record in item.verified.records:
        values = [_copy_value(record.get(name), kind) for name, kind in columns]
        out.write("\t".join([*values, *provenance]))
        out.write("\n")
    return out.getvalue(), [number for number, _record in item.verified.records]


class PostgresSink:
    """The raw tables and the ledger in one Postgres schema; one transaction per batch."""

    @staticmethod
    def render(table: str, item: Processed) -> CopyRows:
        return copy_rows(table, item)

    def __init__(self, settings: ConnectionSettings, schema: str) -> None:
        self.settings = settings
        self.schema = schema
        self.name = f"{settings.where}, database {settings.database}, schema {schema}"
        self.store = LedgerStore("postgres", schema)
        self.connection = connect_or_create(settings)

    def prepare(self) -> None:
        with self._errors("creating the raw tables"), transaction(self.connection) as cursor:
            for statement in setup_statements(self.schema, "postgres"):
                cursor.execute(statement)

    def close(self) -> None:
        self.connection.close()

    def read_ledger(self) -> Ledger:
        with self._errors("reading the ledger"), transaction(self.connection) as cursor:
            return self.store.read(cursor)

    def repair(self, ledger: Ledger) -> Ledger:
        return ledger  # rows and ledger commit in one transaction: nothing to settle

    def commit(self, table: str, batch: Sequence[Rendered[CopyRows]],
               removed: Sequence[str]) -> None:
        keys = [item.entry.key for item, _rows in batch]
        doing = (f"loading {len(batch)} objects into {self.schema}.{table} (from {keys[0]})"
                 if keys else f"removing {len(removed)} objects from {self.schema}.{table}")
        with self._errors(doing, batch), transaction(self.connection) as cursor:
            _delete_rows(cursor, self.schema, table, keys + list(removed))
            self.store.forget(cursor, table, removed)
            data = "".join(rows[0] for _item, rows in batch if rows)
            if data:
                _copy(cursor, self.schema, table, data.encode("utf-8"))
            if batch:
                self.store.write(cursor, [item for item, _rows in batch], now_utc())

    def mark_archived(self, table: str, keys: Sequence[str]) -> None:
        with transaction(self.connection) as cursor:
            self.store.mark_archived(cursor, table, keys, now_utc())

    def row_counts(self) -> dict[str, int]:
        counts = {}
        with transaction(self.connection) as cursor:
            for table in RAW_TABLES:
                cursor.execute(f"select count(*) from {qualified(self.schema, table)}")
                counts[table] = int(cursor.fetchone()[0])
        return counts

    def _errors(self, doing: str, batch: Sequence[Rendered[CopyRows]] = ()) -> Any:
        return _PostgresErrors(self.settings, doing, batch)


class _PostgresErrors:
    """Turn a driver error into a line that names the object and line, or the connection."""

    def __init__(self, settings: ConnectionSettings, doing: str,
                 batch: Sequence[Rendered[CopyRows]]) -> None:
        self.settings = settings
        self.doing = doing
        self.batch = batch

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> None:
        import psycopg2

        if exc is None or not isinstance(exc, psycopg2.Error):
            return
        if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
            raise IngestError(
                f"lost the connection to {self.settings.where} while {self.doing}: nothing "
                "of this batch was committed; run the stage again (it redoes exactly this "
                f"batch). ({_first_line(exc)})") from exc
        where = _copy_origin(exc, self.batch)
        raise IngestError(f"{self.doing} failed{where}: {_first_line(exc)}; nothing of this "
                          "batch was committed") from exc


def _copy_origin(exc: Any, batch: Sequence[Rendered[CopyRows]]) -> str:
    """`at <object> line <n>` for an error COPY reports on a line of its input stream."""
    context = getattr(getattr(exc, "diag", None), "context", None) or ""
    match = _COPY_LINE.search(context)
    if not match:
        return ""
    row = int(match.group(1))
    for item, rows in batch:
        lines = rows[1] if rows else []
        if row <= len(lines):
            return f" at {printable(item.entry.key)} line {lines[row - 1]}"
        row -= len(lines)
    return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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


def _copy(cursor: Any, schema: str, table: str, data: bytes) -> None:
    names = ", ".join(load_columns(table))
    cursor.copy_expert(f"copy {qualified(schema, table)} ({names}) from stdin",
                       io.BytesIO(data))


__all__ = ["copy_rows", "stage_postgres"]
