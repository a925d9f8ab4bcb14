"""The ledger of raw objects and the quarantine of bad lines: durable, next to the data.

For Postgres and Redshift both are tables in the raw schema (`_loaded_objects`,
`_quarantined_lines`), written in the same transaction as the rows. For Spark, whose tables
are files, they live in a SQLite file in the state folder next to the Spark warehouse.

Status of an object: `loaded` (every line loaded), `quarantined` (loaded, some lines
quarantined), `pending` (could not be read; retried next run), `failed` (could not be read in
`max_attempts` runs; retried only when the object changes), `rejected` (refused whole, for a
reason that reading again cannot change: a key that would escape its folder, a name that is
not UTF-8, a broken symlink, a body that is gzip or not UTF-8; retried when it changes).
Which status an object gets is ingest.stage.process's decision, what to stage next
ingest.stage.plan's: this module only keeps the entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from ingest.sql_names import validate_identifier

Backend = Literal["postgres", "redshift", "sqlite"]
LEDGER = "_loaded_objects"
QUARANTINE = "_quarantined_lines"
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

# The mark of a ledger that holds no rows, and of one that does not exist yet.
NO_ROWS: Final = "no-rows"
NOTHING_STAGED: Final = "nothing-staged"


def mark_of(digests: Mapping[str, str]) -> str:
    """The mark of a ledger whose tables with rows have these digests."""
    if not digests:
        return NO_ROWS
    return ",".join(f"{table}={digest}" for table, digest in sorted(digests.items()))


def changed_tables(before: str | None, after: str) -> frozenset[str] | None:
    """The raw tables whose rows differ between two marks of one ledger (state_mark); None
    (unknown) when `before` is, when either mark is from before per-table digests, and
    when there is no ledger (NOTHING_STAGED: tables over the raw objects in place)."""
    old, new = _table_digests(before), _table_digests(after)
    if old is None or new is None:
        return None
    return frozenset(table for table in old.keys() | new.keys()
                     if old.get(table) != new.get(table))


def _table_digests(mark: str | None) -> dict[str, str] | None:
    if mark is None:
        return None
    if mark == NOTHING_STAGED:  # no ledger: raw objects read in place, changed or not
        return None
    if mark == NO_ROWS:
        return {}
    digests = {}
    for part in mark.split(","):
        table, equals, digest = part.partition("=")
        if not equals or not table or not digest:
            return None
        digests[table] = digest
    return digests


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


class QuarantinedLine(Protocol):
    """A bad line as the quarantine records it."""

    @property
    def line_number(self) -> int: ...

    @property
    def raw_text(self) -> str: ...

    @property
    def reason(self) -> str: ...


class Recorded(Protocol):
    """An object's new ledger entry and its quarantined lines (ingest.stage.process)."""

    @property
    def entry(self) -> LedgerEntry: ...

    @property
    def bad_lines(self) -> Sequence[QuarantinedLine]: ...


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

    def write(self, cursor: Any, processed: Sequence[Recorded], now: dt.datetime) -> None:
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
               for item in processed for line in item.bad_lines]
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
        """What the ledger says the raw tables hold, one digest per table (`changed_tables`
        reads two marks): each object with rows, its fingerprint, when it loaded and how
        many rows. Any commit that adds, replaces or removes rows of a table changes that
        table's digest; a retry still pending, a failure or an archive does not.

        A build records the mark it read before it started (ingest.run.builds): rows
        committed while it ran are then seen as new by the next cycle.
        """
        statuses = ", ".join([self.mark] * len(HAS_ROWS))
        cursor.execute(f"select table_name, object_key, source_uri, fingerprint, loaded_at, "
                       f"rows_loaded from {self.name(LEDGER)} where status in ({statuses})",
                       sorted(HAS_ROWS))
        digests: dict[str, Any] = {}
        for row in sorted(tuple(str(value) for value in row) for row in cursor.fetchall()):
            digest = digests.setdefault(row[0], hashlib.sha256())
            digest.update("\0".join(row).encode("utf-8", "surrogateescape") + b"\n")
        return mark_of({table: digest.hexdigest()[:16] for table, digest in digests.items()})

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

