"""The verified landing area the local Spark tables read: a sink of the staging core.

For each source, `<state>/landing/<source>/` holds:

- `ledger.sqlite`: the ledger of raw objects and the quarantined lines (ingest.ledger.store), and
  `_landed_parquet`: each landed file, its size and the rows it holds per object;
- `verified/log_data/event_date=YYYY-MM-DD/<name>-<digest>.parquet`: one parquet file per
  (log object, UTC day of its events), Hive-style folders Spark registers as partitions;
- `verified/song_data/<bucket>.parquet`: the one-song files gathered by the first letter of
  their folder (`song_data/A/…` → `A.parquet`), so Spark opens a few dozen files instead of
  ~15,000, and a new or changed song rewrites only its bucket.

The columns and types are ingest.stage.landing.format's (the raw contract, `_source_key`,
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

This module is the sink and its repair; writing files durably is ingest.stage.landing.files's
job, the SQLite ledger ingest.stage.landing.ledger's.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.errors import IngestError
from ingest.ledger.db import now_utc, transaction
from ingest.ledger.store import HAS_ROWS, LEDGER, QUARANTINE, LedgerStore
from ingest.raw.contract import SOURCE_KEY
from ingest.stage.core import Ledger, Rendered
from ingest.stage.landing.files import (
    TABLES,
    file_size,
    landed_paths,
    unlink_durably,
    write_durably,
)
from ingest.stage.landing.format import (
    Part,
    arrow_schema,
    as_table,
    log_file_name,
    render_parts,
    song_bucket,
)
from ingest.stage.landing.ledger import (
    LANDED,
    LAYOUT,
    LAYOUT_TABLE,
    LEDGER_FILE,
    Landed,
    LandedFile,
    open_ledger,
    paths_by_key,
    read_landed,
    record_files,
    recorded_paths,
    state_errors,
)
from ingest.stage.process import Processed

log = logging.getLogger(__name__)


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
            check = _Repair(self.verified, ledger, read_landed(self.connection))
            check.run()
            for table in TABLES:
                (self.verified / table).mkdir(parents=True, exist_ok=True)
        lacking = check.lacking
        if lacking:
            log.warning("repair: %d objects the ledger holds have no landed rows (e.g. %s): "
                        "they are staged again", len(lacking), lacking[0][1])
        with transaction(self.connection) as cursor:
            for table in sorted({table for table, _key in lacking}):
                self.store.forget(cursor, table,
                                  [key for name, key in lacking if name == table])
            record_files(cursor, check.gone)
        forgotten = set(lacking)
        return {pair: entry for pair, entry in ledger.items() if pair not in forgotten}

    def commit(self, table: str, batch: Sequence[Rendered[list[Part]]],
               removed: Sequence[str]) -> None:
        """Make the batch's files durable, then record them and the batch in the ledger."""
        with state_errors(self.landing):
            if table == "song_data":  # a bucket's rows per song are not needed here
                files = self._land_songs(batch, removed, recorded_paths(self.connection, table))
            else:
                files = self._land_logs(batch, removed, read_landed(self.connection, table))
            with transaction(self.connection) as cursor:
                self.store.forget(cursor, table, removed)
                self.store.write(cursor, [item for item, _parts in batch], now_utc())
                record_files(cursor, files)

    def mark_archived(self, table: str, keys: Sequence[str]) -> None:
        with transaction(self.connection) as cursor:
            self.store.mark_archived(cursor, table, keys, now_utc())

    def row_counts(self) -> dict[str, int]:
        with transaction(self.connection) as cursor:
            cursor.execute("select table_name, coalesce(sum(rows_loaded), 0) from "
                           '"_loaded_objects" group by table_name')
            rows = {str(name): int(total) for name, total in cursor.fetchall()}
        return {"song_data": rows.get("song_data", 0), "log_data": rows.get("log_data", 0)}

    def _land_logs(self, batch: Sequence[Rendered[list[Part]]], removed: Sequence[str],
                   landed: Landed) -> list[LandedFile]:
        """One file per (object, day); an object's files of other days go (a pending
        object has no rows, not old ones)."""
        holding = paths_by_key(landed)
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
        return LandedFile(relative, "log_data", file_size(path), {key: part.num_rows})

    def _land_songs(self, batch: Sequence[Rendered[list[Part]]], removed: Sequence[str],
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
        return LandedFile(relative, "song_data", file_size(path), dict(counts))

    def _remove(self, relative: str, table: str) -> LandedFile:
        unlink_durably(self.verified / relative)
        return LandedFile(relative, table, None)

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
        for relative in sorted(set(landed_paths(self.verified)) - set(self.landed)):
            log.info("repair: removing %s, which no ledger entry claims", relative)
            unlink_durably(self.verified / relative)
        bad = {relative for relative, file in self.landed.items()
               if file_size(self.verified / relative) != file.size}
        for relative in sorted(bad):
            log.warning("repair: %s is missing or was changed since it landed", relative)
        claimed = {key: entry.rows_loaded or 0 for (_table, key), entry in self.ledger.items()
                   if entry.status in HAS_ROWS}
        lacking = self._spread(bad, claimed)
        for relative in sorted(bad):
            unlink_durably(self.verified / relative)
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
