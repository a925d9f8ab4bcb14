"""The verified landing area the local Spark tables read: a sink of the staging core.

For each source, `<state>/landing/<source>/` holds:

- `ledger.sqlite`: the ledger of raw objects and the quarantined lines (ingest.ledger.store), and
  `_landed_parquet`: each landed file, its size and the rows it holds per object;
- `verified/log_data/event_date=YYYY-MM-DD/<name>-<digest>.parquet`: one parquet file per
  (log object, UTC day of its events), Hive-style folders Spark registers as partitions;
- `verified/song_data/<bucket>.parquet`: the one-song files gathered by the first letter of
  their folder (`song_data/A/…` → `A.parquet`), so Spark opens a few dozen files instead of
  ~15,000, and a new or changed song rewrites only its bucket.

The columns and types are ingest.stage.landing_format's (the raw contract, `_source_key`,
`_ingested_at`); the partition column lives in the folder names only.

Durable before recorded: each batch's files are written to a temporary name, fsynced and
renamed (and their folder fsynced) before the ledger transaction that claims them commits;
that transaction also records each file's size and rows per object. A crash in between
leaves files the ledger does not claim; a lost, cut or edited file leaves a claim without
data. `repair`, run before every stage, settles both against the ledger at the cost of one
stat per file, at file level: a file no record claims is deleted; a file whose size is not
the recorded one is deleted, and every object with rows in it is forgotten (its other files
deleted too), so those objects are staged again.

A landing written by an earlier version (newline-delimited JSON) is detected and staged
again from scratch, with a warning.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.errors import IngestError
from ingest.ledger.db import now_utc, transaction
from ingest.ledger.store import HAS_ROWS, LEDGER, QUARANTINE, LedgerEntry, LedgerStore, Processed
from ingest.raw.contract import SOURCE_KEY
from ingest.stage.core import Ledger, Rendered
from ingest.stage.landing_format import (
    PARTITION_COLUMN,
    Part,
    arrow_schema,
    as_table,
    log_file_name,
    render_parts,
    song_bucket,
)

log = logging.getLogger(__name__)
LEDGER_FILE = "ledger.sqlite"
LANDED = "_landed_parquet"
LAYOUT_TABLE = "_landing_layout"
LAYOUT = "parquet-1"
_TABLES = ("song_data", "log_data")


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


def landed_days(verified: Path) -> list[str]:
    """The partition folders of the log table that hold at least one landed file."""
    root = verified / "log_data"
    if not root.is_dir():
        return []
    return sorted(folder.name for folder in root.iterdir()
                  if folder.is_dir() and folder.name.startswith(f"{PARTITION_COLUMN}=")
                  and any(path.suffix == ".parquet" and not path.name.startswith(".")
                          for path in folder.iterdir()))


class LandingSink:
    """Verified parquet files for the Spark tables, and their ledger in SQLite."""

    @staticmethod
    def render(table: str, item: Processed) -> list[Part]:
        return render_parts(table, item)

    def __init__(self, landing: Path) -> None:
        self.landing = landing
        self.verified = landing / "verified"
        self.name = f"the Spark landing {landing}"
        self.store = LedgerStore("sqlite")
        self._connection: sqlite3.Connection | None = None

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = open_ledger(self.landing / LEDGER_FILE)
        return self._connection

    def prepare(self) -> None:
        """Open (and create) the ledger: under the stage lock, like every write."""
        _ = self.connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def read_ledger(self) -> Ledger:
        with transaction(self.connection) as cursor:
            return self.store.read(cursor)

    def repair(self, ledger: Ledger) -> Ledger:
        """Settle the files against the ledger; the ledger as the files back it."""
        with state_errors(self.landing):
            ledger = self._settle_layout(ledger)
            check = _Repair(self.verified, ledger, self._landed())
            check.run()
            for table in _TABLES:
                (self.verified / table).mkdir(parents=True, exist_ok=True)
        lacking = check.lacking
        if lacking:
            log.warning("repair: %d objects the ledger holds have no landed rows (e.g. %s): "
                        "they are staged again", len(lacking), lacking[0][1])
        with transaction(self.connection) as cursor:
            for table in sorted({table for table, _key in lacking}):
                self.store.forget(cursor, table,
                                  [key for name, key in lacking if name == table])
            _record(cursor, check.gone)
        forgotten = set(lacking)
        return {pair: entry for pair, entry in ledger.items() if pair not in forgotten}

    def commit(self, table: str, batch: Sequence[Rendered], removed: Sequence[str]) -> None:
        """Make the batch's files durable, then record them and the batch in the ledger."""
        with state_errors(self.landing):
            if table == "song_data":  # a bucket's rows per song are not needed here
                files = self._land_songs(batch, removed, self._recorded_paths(table))
            else:
                files = self._land_logs(batch, removed, self._landed(table))
            with transaction(self.connection) as cursor:
                self.store.forget(cursor, table, removed)
                self.store.write(cursor, [item for item, _parts in batch], now_utc())
                _record(cursor, files)

    def mark_archived(self, table: str, keys: Sequence[str]) -> None:
        with transaction(self.connection) as cursor:
            self.store.mark_archived(cursor, table, keys, now_utc())

    def row_counts(self) -> dict[str, int]:
        with transaction(self.connection) as cursor:
            cursor.execute("select table_name, coalesce(sum(rows_loaded), 0) from "
                           '"_loaded_objects" group by table_name')
            rows = {str(name): int(total) for name, total in cursor.fetchall()}
        return {"song_data": rows.get("song_data", 0), "log_data": rows.get("log_data", 0)}

    def _land_logs(self, batch: Sequence[Rendered], removed: Sequence[str],
                   landed: Landed) -> list[LandedFile]:
        """One file per (object, day); an object's files of other days go (a pending
        object has no rows, not old ones)."""
        holding = _paths_by_key(landed)
        files: list[LandedFile] = []
        for item, parts in batch:
            key = item.entry.key
            written = [self._land_log_part(key, part) for part in parts or []]
            kept = {file.path for file in written}
            files += written
            files += [self._remove(path, "log_data") for path in holding.get(key, [])
                      if path not in kept]
        for key in removed:
            files += [self._remove(path, "log_data") for path in holding.get(key, [])]
        return files

    def _land_log_part(self, key: str, part: Part) -> LandedFile:
        relative = f"log_data/{part.partition}/{log_file_name(key)}"
        path = self.verified / relative
        write_durably(path, as_table("log_data", [part]))
        return LandedFile(relative, "log_data", _size(path), {key: part.num_rows})

    def _land_songs(self, batch: Sequence[Rendered], removed: Sequence[str],
                    landed: set[str]) -> list[LandedFile]:
        """Rewrite each bucket the batch touches: replaced songs' rows out, new rows in."""
        replaced = {item.entry.key for item, _parts in batch} | set(removed)
        added: dict[str, list[Part]] = {}
        for item, parts in batch:
            added.setdefault(song_bucket(item.entry.key), []).extend(parts or [])
        buckets = {song_bucket(key) for key in replaced} | set(added)
        return [self._rewrite_bucket(f"song_data/{bucket}", replaced, added.get(bucket, []),
                                     landed)
                for bucket in sorted(buckets)]

    def _rewrite_bucket(self, relative: str, replaced: set[str], new: list[Part],
                        landed: set[str]) -> LandedFile:
        path = self.verified / relative
        parts = list(new)
        if relative in landed:
            old = pq.read_table(path, schema=arrow_schema("song_data"))
            keep = pc.invert(pc.is_in(old[SOURCE_KEY], value_set=pa.array(sorted(replaced))))
            parts.insert(0, Part("", old.filter(keep)))
        rows = as_table("song_data", parts)
        if rows.num_rows == 0:
            return self._remove(relative, "song_data")
        write_durably(path, rows)
        counts = Counter(rows[SOURCE_KEY].to_pylist())
        return LandedFile(relative, "song_data", _size(path), dict(counts))

    def _remove(self, relative: str, table: str) -> LandedFile:
        _unlink_durably(self.verified / relative)
        return LandedFile(relative, table, None)

    def _recorded_paths(self, table: str) -> set[str]:
        with transaction(self.connection) as cursor:
            cursor.execute(f'select distinct path from "{LANDED}" where table_name = ?',
                           (table,))
            return {str(row[0]) for row in cursor.fetchall()}

    def _landed(self, table: str | None = None) -> Landed:
        """The files the ledger records (of one table, or all)."""
        sql = f'select path, table_name, object_key, row_count, size_bytes from "{LANDED}"'
        with transaction(self.connection) as cursor:
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

    def _settle_layout(self, ledger: Ledger) -> Ledger:
        """The ledger, or nothing when the landing holds an earlier version's JSON files."""
        with transaction(self.connection) as cursor:
            cursor.execute(f'select layout from "{LAYOUT_TABLE}"')
            if {str(row[0]) for row in cursor.fetchall()} == {LAYOUT}:
                return ledger
        files = self.verified.is_dir() and any(self.verified.rglob("*"))
        if ledger or files:
            archived = sum(entry.archived_at is not None for entry in ledger.values())
            if archived:
                raise IngestError(
                    f"the landing {self.landing} was written by an earlier version as JSON "
                    f"lines, and {archived} of its objects were archived: staging again from "
                    "the source would lose their rows. Put the archived objects back in the "
                    "source, or remove the landing folder to stage only what the source holds")
            log.warning("the landing %s was written by an earlier version as JSON lines: "
                        "its %d objects are staged again as parquet", self.landing, len(ledger))
            if self.verified.exists():
                shutil.rmtree(self.verified)
        with transaction(self.connection) as cursor:
            for table in (LEDGER, QUARANTINE, LANDED, LAYOUT_TABLE):
                cursor.execute(f'delete from "{table}"')
            cursor.execute('drop table if exists "_landed_files"')  # the JSON layout's sizes
            cursor.execute(f'insert into "{LAYOUT_TABLE}" (layout) values (?)', (LAYOUT,))
        return {}


class _Repair:
    """One repair pass, at file level: what the files lack (`lacking`), what went (`gone`)."""

    def __init__(self, verified: Path, ledger: Ledger, landed: Landed) -> None:
        self.verified = verified
        self.ledger = ledger
        self.landed = landed
        self.lacking: list[tuple[str, str]] = []
        self.gone: list[LandedFile] = []

    def run(self) -> None:
        for relative in sorted(set(_files(self.verified)) - set(self.landed)):
            log.info("repair: removing %s, which no ledger entry claims", relative)
            _unlink_durably(self.verified / relative)
        bad = {relative for relative, file in self.landed.items()
               if _size(self.verified / relative) != file.size}
        for relative in sorted(bad):
            log.warning("repair: %s is missing or was changed since it landed", relative)
        claimed = {key: entry.rows_loaded or 0 for (_table, key), entry in self.ledger.items()
                   if entry.status in HAS_ROWS}
        lacking = self._spread(bad, claimed)
        for relative in sorted(bad):
            _unlink_durably(self.verified / relative)
            self.gone.append(LandedFile(relative, self.landed[relative].table, None))
        self.lacking = sorted(pair for pair, entry in self.ledger.items()
                              if pair[1] in lacking and entry.status in HAS_ROWS)

    def _spread(self, bad: set[str], claimed: dict[str, int]) -> set[str]:
        """Objects whose rows are not exactly the claimed ones; `bad` grows with the files
        that hold any of them (a file goes whole)."""
        while True:
            held: Counter[str] = Counter()
            for relative, file in self.landed.items():
                if relative not in bad:
                    held.update(file.rows)
            lacking = {key for key in set(claimed) | set(held)
                       if held.get(key, 0) != claimed.get(key, 0)}
            more = {relative for relative, file in self.landed.items()
                    if relative not in bad and not lacking.isdisjoint(file.rows)}
            if not more:
                return lacking
            bad |= more


def _record(cursor: Any, files: Sequence[LandedFile]) -> None:
    """Record what each touched file now holds (nothing, once it is gone)."""
    cursor.executemany(f'delete from "{LANDED}" where path = ?',
                       [(file.path,) for file in files])
    cursor.executemany(
        f'insert into "{LANDED}" (path, table_name, object_key, row_count, size_bytes) '
        "values (?, ?, ?, ?, ?)",
        [(file.path, file.table, key, count, file.size)
         for file in files if file.size is not None for key, count in file.rows.items()])


def _paths_by_key(landed: Landed) -> dict[str, list[str]]:
    holding: dict[str, list[str]] = {}
    for relative, file in sorted(landed.items()):
        for key in file.rows:
            holding.setdefault(key, []).append(relative)
    return holding


def write_durably(path: Path, rows: pa.Table) -> None:
    """Write `rows` as parquet to a temporary name, fsync, rename over `path`, fsync the
    folder (and its parent, when the folder is new)."""
    new_folder = not path.parent.is_dir()
    path.parent.mkdir(parents=True, exist_ok=True)
    if new_folder:
        _fsync_folder(path.parent.parent)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as out:
            pq.write_table(rows, out, compression="snappy")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _unlink_durably(path: Path) -> None:
    """Remove a file (and its partition folder, once empty)."""
    if path.exists():
        path.unlink()
        _fsync_folder(path.parent)
    folder = path.parent
    if folder.name.startswith(f"{PARTITION_COLUMN}=") and folder.is_dir() and not any(
            folder.iterdir()):
        folder.rmdir()
        _fsync_folder(folder.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _files(verified: Path) -> Iterator[str]:
    """Every landed file (relative to `verified`); leftover temporary files are removed."""
    for table in _TABLES:
        root = verified / table
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                log.info("repair: removing %s, a write a crash cut short", path)
                _unlink_durably(path)
                continue
            yield path.relative_to(verified).as_posix()
        for folder in sorted(root.glob(f"{PARTITION_COLUMN}=*")):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def ledger_entries(landing: Path) -> tuple[list[LedgerEntry], list[tuple[Any, ...]]]:
    """The ledger and quarantine of one landing folder, for `python -m ingest status`."""
    store = LedgerStore("sqlite")
    with (closing(open_ledger(landing / LEDGER_FILE)) as connection,
          transaction(connection) as cursor):
        entries = list(store.read(cursor).values())
        quarantined = store.quarantined(cursor)
    return entries, quarantined
