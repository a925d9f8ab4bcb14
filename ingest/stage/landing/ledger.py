"""The Spark landing's ledger: a SQLite file holding the ledger of raw objects, and what
each landed file holds.

Next to the ledger tables (ingest.ledger.store), `_landed_parquet` records each landed file,
its size and the rows it holds per object; `_landing_layout` says which layout wrote the
files (an earlier version wrote JSON lines).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import IngestError
from ingest.ledger.db import transaction
from ingest.ledger.store import LedgerEntry, LedgerStore

LEDGER_FILE = "ledger.sqlite"
LANDED = "_landed_parquet"
LAYOUT_TABLE = "_landing_layout"
LAYOUT = "parquet-1"


def open_ledger(path: Path) -> sqlite3.Connection:
    """The landing's SQLite ledger, created when missing."""
    with state_errors(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30)
        with transaction(connection) as cursor:
            for statement in LedgerStore("sqlite").ddl():
                cursor.execute(statement)
            cursor.execute(f'create table if not exists "{LANDED}" (\n'
                           "    path text not null,\n"
                           "    table_name text not null,\n"
                           "    object_key text not null,\n"
                           "    row_count integer not null,\n"
                           "    size_bytes integer not null,\n"
                           "    primary key (path, object_key)\n)")
            cursor.execute(f'create table if not exists "{LAYOUT_TABLE}" (layout text not null)')
    return connection


@contextmanager
def state_errors(where: Path) -> Iterator[None]:
    """Turn a full disk or a read-only state folder into one clear line."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise IngestError(
            f"cannot write the landing in {where}: {reason}. Nothing of the unfinished batch "
            "was recorded; make the state folder writable (or set SPARKIFY_STATE_DIR) and "
            "free some space, then run the stage again") from exc


@dataclass(frozen=True)
class LandedFile:
    """One landed file as the ledger records it: `size` None once it is gone."""

    path: str  # relative to verified/, e.g. log_data/event_date=2018-11-01/x.parquet
    table: str
    size: int | None
    rows: dict[str, int] = field(default_factory=dict)  # object key → rows in this file


Landed = dict[str, LandedFile]


def read_landed(connection: sqlite3.Connection, table: str | None = None) -> Landed:
    """The files the ledger records (of one table, or all)."""
    sql = f'select path, table_name, object_key, row_count, size_bytes from "{LANDED}"'
    with transaction(connection) as cursor:
        if table is None:
            cursor.execute(sql)
        else:
            cursor.execute(f"{sql} where table_name = ?", (table,))
        rows = cursor.fetchall()
    landed: Landed = {}
    for path, name, key, count, size in rows:
        file = landed.setdefault(str(path), LandedFile(str(path), str(name), int(size)))
        file.rows[str(key)] = int(count)
    return landed


def recorded_paths(connection: sqlite3.Connection, table: str) -> set[str]:
    """The paths of the files the ledger records for `table`."""
    with transaction(connection) as cursor:
        cursor.execute(f'select distinct path from "{LANDED}" where table_name = ?', (table,))
        return {str(row[0]) for row in cursor.fetchall()}


def record_files(cursor: Any, files: Sequence[LandedFile]) -> None:
    """Record what each touched file now holds (nothing, once it is gone)."""
    cursor.executemany(f'delete from "{LANDED}" where path = ?',
                       [(file.path,) for file in files])
    cursor.executemany(
        f'insert into "{LANDED}" (path, table_name, object_key, row_count, size_bytes) '
        "values (?, ?, ?, ?, ?)",
        [(file.path, file.table, key, count, file.size)
         for file in files if file.size is not None for key, count in file.rows.items()])


def paths_by_key(landed: Landed) -> dict[str, list[str]]:
    holding: dict[str, list[str]] = {}
    for relative, file in sorted(landed.items()):
        for key in file.rows:
            holding.setdefault(key, []).append(relative)
    return holding


def ledger_entries(landing: Path) -> tuple[list[LedgerEntry], list[tuple[Any, ...]]]:
    """The ledger and quarantine of one landing folder, for `python -m ingest status`."""
    store = LedgerStore("sqlite")
    with (closing(open_ledger(landing / LEDGER_FILE)) as connection,
          transaction(connection) as cursor):
        entries = list(store.read(cursor).values())
        quarantined = store.quarantined(cursor)
    return entries, quarantined

