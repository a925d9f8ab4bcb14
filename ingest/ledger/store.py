"""The ledger of raw objects and the quarantine of bad lines: durable, next to the data.

For Postgres and Redshift both are tables in the raw schema (`_loaded_objects`,
`_quarantined_lines`), written in the same transaction as the rows. For Spark, whose tables
are files, they live in a SQLite file in the state folder next to the Spark warehouse.

Status of an object: `loaded` (every line loaded), `quarantined` (loaded, some lines
quarantined), `pending` (could not be read; retried next run), `failed` (could not be read in
`max_attempts` runs; retried only when the object changes), `rejected` (refused whole, for a
reason that reading again cannot change: a key that would escape its folder, a name that is
not UTF-8, a broken symlink, a body that is gzip or not UTF-8; retried when it changes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from ingest.raw.contract import validate_identifier
from ingest.raw.sources import RawObject, SourceLocation
from ingest.raw.verify import Rejected, Unreadable, Verified, verify_object

Backend = Literal["postgres", "redshift", "sqlite"]
LEDGER = "_loaded_objects"
QUARANTINE = "_quarantined_lines"
DEFAULT_MAX_ATTEMPTS = 3
COLUMNS = ("table_name", "object_key", "source_uri", "fingerprint", "size_bytes", "status",
           "first_seen_at", "loaded_at", "rows_loaded", "rows_quarantined", "blank_lines",
           "attempts", "reason", "archived_at")
# What the ledger says of an object (the module docstring says what each means).
LedgerStatus = Literal["loaded", "quarantined", "pending", "failed", "rejected"]
LOADED: Final = "loaded"
QUARANTINED: Final = "quarantined"
PENDING: Final = "pending"
FAILED: Final = "failed"
REJECTED: Final = "rejected"
STATUSES: tuple[LedgerStatus, ...] = (LOADED, QUARANTINED, PENDING, FAILED, REJECTED)
# The statuses of objects whose rows are in the raw tables.
HAS_ROWS: frozenset[LedgerStatus] = frozenset({LOADED, QUARANTINED})


@dataclass(frozen=True)
class LedgerEntry:
    table: str
    key: str
    source_uri: str
    fingerprint: str
    size_bytes: int
    status: LedgerStatus
    first_seen_at: dt.datetime
    loaded_at: dt.datetime | None = None
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    blank_lines: int | None = None
    attempts: int = 0
    reason: str | None = None
    archived_at: dt.datetime | None = None

    def values(self) -> tuple[Any, ...]:
        return (self.table, self.key, self.source_uri, self.fingerprint, self.size_bytes,
                self.status, self.first_seen_at, self.loaded_at, self.rows_loaded,
                self.rows_quarantined, self.blank_lines, self.attempts, self.reason,
                self.archived_at)


@dataclass(frozen=True)
class TablePlan:
    """What one raw table needs: objects to process, and keys whose rows must go.

    `vanished` are objects the ledger holds that the source no longer lists: their rows go
    only when pruning was asked for (then they are `removed`), else they are reported.
    """

    table: str
    process: tuple[RawObject, ...]
    stale: tuple[str, ...]
    unchanged: int
    failed: int
    vanished: tuple[str, ...] = ()
    prune: bool = False

    @property
    def removed(self) -> tuple[str, ...]:
        return self.vanished if self.prune else ()

    @property
    def is_empty(self) -> bool:
        return not self.process and not self.removed


def plan_table(table: str, objects: Sequence[RawObject], source: SourceLocation,
               ledger: dict[tuple[str, str], LedgerEntry], *,
               prune: bool = False) -> TablePlan:
    """New, changed and pending objects are processed; changed ones are stale."""
    current = {obj.key for obj in objects}
    process: list[RawObject] = []
    stale: list[str] = []
    unchanged = failed = 0
    for obj in objects:
        entry = ledger.get((table, obj.key))
        if entry is None:
            process.append(obj)
        elif entry.fingerprint != obj.fingerprint or entry.source_uri != source.uri:
            process.append(obj)
            stale.append(obj.key)
        elif entry.status == PENDING:
            process.append(obj)
        elif entry.status in {FAILED, REJECTED}:
            failed += 1
        else:
            unchanged += 1
    # an object archived and then deleted from the source keeps its rows; objects of other
    # sources (a stream's micro-batches, staged into the same landing) are not this one's
    vanished = sorted(key for (entry_table, key), entry in ledger.items()
                      if entry_table == table and key not in current
                      and entry.archived_at is None and entry.source_uri == source.uri)
    return TablePlan(table, tuple(process), tuple(stale), unchanged, failed, tuple(vanished),
                     prune)


@dataclass(frozen=True)
class Processed:
    """One object after verification: its new ledger entry and, if readable, its content."""

    entry: LedgerEntry
    verified: Verified | None


def process_object(table: str, obj: RawObject, body: bytes | None, source: SourceLocation,
                   previous: LedgerEntry | None, now: dt.datetime,
                   max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                   read_error: str | None = None) -> Processed:
    """Verify `body` and say what the ledger should now record for the object.

    An object that looks cut off stays pending while it may still be written; once it has
    not changed across `max_attempts` runs, its cut-off last line is quarantined and the
    rest loads (verify_object's `final`).
    """
    same_object = previous is not None and previous.fingerprint == obj.fingerprint
    first_seen = previous.first_seen_at if previous is not None else now
    attempts = (previous.attempts if same_object and previous else 0) + 1
    entry = LedgerEntry(table, obj.key, source.uri, obj.fingerprint, obj.size, PENDING,
                        first_seen)
    try:
        if obj.problem:
            raise Rejected(obj.problem)
        if body is None:
            raise Unreadable(read_error or "could not be read")
        verified = verify_object(table, obj.key, body, final=attempts >= max_attempts)
    except Rejected as exc:
        return Processed(replace(entry, status=REJECTED, attempts=attempts, reason=str(exc),
                                 rows_loaded=0, rows_quarantined=0), None)
    except Unreadable as exc:
        status: LedgerStatus = FAILED if attempts >= max_attempts else PENDING
        return Processed(replace(entry, status=status, attempts=attempts, reason=str(exc)),
                         None)
    status = QUARANTINED if verified.bad else LOADED
    reason = (f"{len(verified.bad)} line(s) quarantined, first at line "
              f"{verified.bad[0].line_number}: {verified.bad[0].reason}") if verified.bad else None
    return Processed(
        replace(entry, status=status, loaded_at=now, rows_loaded=len(verified.records),
                rows_quarantined=len(verified.bad), blank_lines=verified.blank_lines,
                attempts=0, reason=reason),
        verified,
    )


class LedgerStore:
    """Reads and writes the ledger and quarantine tables through a DB-API cursor."""

    def __init__(self, backend: Backend, schema: str | None = None) -> None:
        self.backend = backend
        self.schema = validate_identifier(schema) if schema else None
        self.mark = "?" if backend == "sqlite" else "%s"

    def name(self, table: str) -> str:
        return f'"{self.schema}"."{table}"' if self.schema else f'"{table}"'

    def ddl(self) -> list[str]:
        text = "varchar(1024)" if self.backend == "redshift" else "text"
        long_text = "varchar(max)" if self.backend == "redshift" else "text"
        suffix = "\nbackup no" if self.backend == "redshift" else ""
        return [
            f"create table if not exists {self.name(LEDGER)} (\n"
            f"    table_name varchar(64) not null,\n"
            f"    object_key {text} not null,\n"
            f"    source_uri {text} not null,\n"
            f"    fingerprint varchar(128) not null,\n"
            f"    size_bytes bigint not null,\n"
            f"    status varchar(16) not null,\n"
            f"    first_seen_at timestamp not null,\n"
            f"    loaded_at timestamp,\n"
            f"    rows_loaded bigint,\n"
            f"    rows_quarantined bigint,\n"
            f"    blank_lines bigint,\n"
            f"    attempts integer not null,\n"
            f"    reason {long_text},\n"
            f"    archived_at timestamp,\n"
            f"    primary key (table_name, object_key)\n"
            f"){suffix}",
            f"create table if not exists {self.name(QUARANTINE)} (\n"
            f"    table_name varchar(64) not null,\n"
            f"    object_key {text} not null,\n"
            f"    line_number integer not null,\n"
            f"    raw_line {long_text} not null,\n"
            f"    reason {long_text} not null,\n"
            f"    quarantined_at timestamp not null\n"
            f"){suffix}",
        ]

    def read(self, cursor: Any) -> dict[tuple[str, str], LedgerEntry]:
        cursor.execute(f"select {', '.join(COLUMNS)} from {self.name(LEDGER)}")
        entries = [LedgerEntry(*_as_row(row, self.backend)) for row in cursor.fetchall()]
        return {(entry.table, entry.key): entry for entry in entries}

    def forget(self, cursor: Any, table: str, keys: Sequence[str]) -> None:
        """Drop the ledger entries and quarantined lines of `keys`."""
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            marks = ", ".join([self.mark] * len(chunk))
            for name in (LEDGER, QUARANTINE):
                cursor.execute(f"delete from {self.name(name)} where table_name = {self.mark} "
                               f"and object_key in ({marks})", [table, *chunk])

    def write(self, cursor: Any, processed: Sequence[Processed], now: dt.datetime) -> None:
        """Record each object's entry and its quarantined lines (replacing earlier ones)."""
        by_table: dict[str, list[str]] = {}
        for item in processed:
            by_table.setdefault(item.entry.table, []).append(item.entry.key)
        for table, keys in by_table.items():
            self.forget(cursor, table, keys)
        marks = ", ".join([self.mark] * len(COLUMNS))
        cursor.executemany(
            f"insert into {self.name(LEDGER)} ({', '.join(COLUMNS)}) values ({marks})",
            [item.entry.values() for item in processed],
        )
        bad = [(item.entry.table, item.entry.key, line.line_number, line.raw_text,
                line.reason, now)
               for item in processed if item.verified for line in item.verified.bad]
        if bad:
            cursor.executemany(
                f"insert into {self.name(QUARANTINE)} (table_name, object_key, line_number, "
                f"raw_line, reason, quarantined_at) values ({', '.join([self.mark] * 6)})", bad,
            )

    def mark_archived(self, cursor: Any, table: str, keys: Sequence[str],
                      now: dt.datetime) -> None:
        cursor.executemany(
            f"update {self.name(LEDGER)} set archived_at = {self.mark} "
            f"where table_name = {self.mark} and object_key = {self.mark}",
            [(now, table, key) for key in keys],
        )

    def state_mark(self, cursor: Any) -> str:
        """A digest of what the ledger says the raw tables hold: each object with rows, its
        fingerprint, when it loaded and how many rows. Any commit that adds, replaces or
        removes rows changes it; a retry still pending, a failure or an archive does not.

        A build records the mark it read before it started (ingest.run.builds): rows
        committed while it ran are then seen as new by the next cycle.
        """
        statuses = ", ".join([self.mark] * len(HAS_ROWS))
        cursor.execute(f"select table_name, object_key, source_uri, fingerprint, loaded_at, "
                       f"rows_loaded from {self.name(LEDGER)} where status in ({statuses})",
                       sorted(HAS_ROWS))
        digest = hashlib.sha256()
        for row in sorted(tuple(str(value) for value in row) for row in cursor.fetchall()):
            digest.update("\0".join(row).encode("utf-8", "surrogateescape") + b"\n")
        return digest.hexdigest()[:16]

    def quarantined(self, cursor: Any) -> list[tuple[str, str, int, str, str]]:
        cursor.execute(f"select table_name, object_key, line_number, reason, raw_line from "
                       f"{self.name(QUARANTINE)} order by table_name, object_key, line_number")
        return [tuple(row) for row in cursor.fetchall()]


def _as_row(row: Sequence[Any], backend: Backend) -> list[Any]:
    values = list(row)
    if backend == "sqlite":
        for index in (6, 7, 13):
            if values[index] is not None:
                values[index] = dt.datetime.fromisoformat(values[index])
    return values

