"""The verified landing area the local Spark tables read: only what is new is processed.

For each source, `<state>/landing/<source>/` holds:

- `ledger.sqlite`: the ledger of raw objects and the quarantined lines (ingest.ledger);
- `verified/log_data/<key>`: one newline-delimited JSON file per daily log, its good lines
  only, each record tagged with `_source_key` and `_ingested_at`;
- `verified/song_data/<bucket>.json`: the one-song files gathered by the first letter of
  their folder (`song_data/A/…` → `A.json`), so Spark opens a few dozen files instead of
  ~15,000, and a new song rewrites only its bucket.

Files are written to a temporary name and renamed, and the ledger is updated after the
files: a crash in between makes the next run process the same objects again, which writes
the same files, so nothing is lost or doubled.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing, nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from ingest.archive import ArchiveRequest, archive_from_ledger
from ingest.ledger import (
    DEFAULT_MAX_ATTEMPTS,
    LedgerEntry,
    LedgerStore,
    Processed,
    TablePlan,
    plan_table,
    process_object,
)
from ingest.progress import Progress
from ingest.sources import LocalSource, RawObject, S3Source
from ingest.warehouse import now_utc, transaction

log = logging.getLogger(__name__)
BATCH_OBJECTS = 200
# Verifying is CPU-bound Python: with at least this many objects to process, it runs in one
# worker process per core (spawned, so the parent's threads and JVM are not forked).
PARALLEL_MIN_OBJECTS = 8
SOURCE_KEY = "_source_key"
INGESTED_AT = "_ingested_at"


@dataclass(frozen=True)
class LandingResult:
    """What one run did, per raw table."""

    plans: dict[str, TablePlan]
    processed: dict[str, list[Processed]]
    rows: dict[str, int]

    @property
    def changed(self) -> bool:
        return any(not plan.is_empty for plan in self.plans.values())

    def count(self, table: str, status: str) -> int:
        return sum(item.entry.status == status for item in self.processed[table])


def open_ledger(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30)
    with transaction(connection) as cursor:
        for statement in LedgerStore("sqlite").ddl():
            cursor.execute(statement)
    return connection


def land(source: LocalSource | S3Source, listing: dict[str, list[RawObject]], landing: Path, *,
         max_attempts: int = DEFAULT_MAX_ATTEMPTS, workers: int = 8,
         archive: ArchiveRequest | None = None) -> LandingResult:
    """Verify new, changed and pending objects into `landing/verified`; record them."""
    store = LedgerStore("sqlite")
    processed: dict[str, list[Processed]] = {}
    with closing(open_ledger(landing / "ledger.sqlite")) as connection:
        with transaction(connection) as cursor:
            ledger = store.read(cursor)
        plans = {table: plan_table(table, objects, source.uri, ledger)
                 for table, objects in listing.items()}
        with (ThreadPoolExecutor(max_workers=workers) as readers,
              _verifiers(sum(len(plan.process) for plan in plans.values())) as verifiers):
            for table, plan in plans.items():
                writer = _SongBuckets(landing) if table == "song_data" else _LogFiles(landing)
                processed[table] = []
                progress = Progress(log, f"verifying {table}", len(plan.process))
                for batch in _chunks(plan.process, BATCH_OBJECTS):
                    bodies = readers.map(lambda obj: source.read(obj.key), batch)
                    now = now_utc()
                    verify = partial(verify_and_render, table, source_uri=source.uri, now=now,
                                     max_attempts=max_attempts)
                    done = list(verifiers.map(
                        verify, batch, list(bodies),
                        [ledger.get((table, obj.key)) for obj in batch],
                        chunksize=max(1, len(batch) // 8)))
                    writer.write(done)
                    with transaction(connection) as cursor:
                        store.write(cursor, [item for item, _lines in done], now)
                    processed[table] += [item for item, _lines in done]
                    progress.advance(len(batch))
                if plan.removed:
                    writer.remove(plan.removed)
                    with transaction(connection) as cursor:
                        store.forget(cursor, table, plan.removed)
                writer.finish()
        if archive is not None:
            present = {obj.key for objects in listing.values() for obj in objects}
            archive_from_ledger(connection, store, source, archive, present)
        with transaction(connection) as cursor:
            cursor.execute("select table_name, coalesce(sum(rows_loaded), 0) from "
                           '"_loaded_objects" group by table_name')
            rows = {str(name): int(total) for name, total in cursor.fetchall()}
    return LandingResult(plans, processed, rows)


Rendered = tuple[Processed, list[str] | None]


def verify_and_render(table: str, obj: RawObject, body: bytes | None,
                      previous: LedgerEntry | None, *, source_uri: str, now: dt.datetime,
                      max_attempts: int) -> Rendered:
    """Verify one object and render its good records as tagged JSON lines.

    The Processed that comes back keeps the ledger entry and the bad lines, not the
    records: those are only needed as the lines, and holding every record of a large run
    in memory is what made staging grow with its input.
    """
    item = process_object(table, obj, body, source_uri, previous, now, max_attempts)
    if item.verified is None:
        return item, None
    lines = list(_tagged_lines(item))
    return Processed(item.entry, replace(item.verified, records=[])), lines


def _verifiers(objects: int) -> Any:
    """An executor for verification: worker processes when it pays, else this process."""
    cores = os.cpu_count() or 1
    if objects < PARALLEL_MIN_OBJECTS or cores < 2:
        return nullcontext(_Inline())
    return ProcessPoolExecutor(max_workers=min(cores, 4),
                               mp_context=multiprocessing.get_context("spawn"))


class _Inline(Executor):
    """Executor.map without workers, for small batches (spawning costs about a second)."""

    def map(self, fn: Any, *iterables: Any, timeout: float | None = None,
            chunksize: int = 1) -> Iterator[Any]:
        return map(fn, *iterables)


def _chunks(objects: Sequence[RawObject], size: int) -> Iterator[Sequence[RawObject]]:
    for start in range(0, len(objects), size):
        yield objects[start:start + size]


def _tagged_lines(item: Processed) -> Iterator[str]:
    """The good records of one object as JSON lines, with their provenance."""
    if item.verified is None:
        return
    stamp = (item.entry.loaded_at or now_utc()).isoformat(sep=" ")
    for _number, record in item.verified.records:
        yield json.dumps({**record, SOURCE_KEY: item.entry.key, INGESTED_AT: stamp},
                         ensure_ascii=False)


def write_atomically(path: Path, lines: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            out.write("\n")
    os.replace(temporary, path)


class _LogFiles:
    """One verified file per daily log object."""

    def __init__(self, landing: Path) -> None:
        self.root = landing / "verified"

    def write(self, processed: Sequence[Rendered]) -> None:
        for item, lines in processed:
            path = self.root / item.entry.key
            if lines is None:
                path.unlink(missing_ok=True)  # a pending object has no rows, not old ones
            else:
                write_atomically(path, lines)

    def remove(self, keys: Sequence[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)

    def finish(self) -> None:
        (self.root / "log_data").mkdir(parents=True, exist_ok=True)


class _SongBuckets:
    """Songs gathered per bucket; a bucket is rewritten once per run when any song in it moved."""

    def __init__(self, landing: Path) -> None:
        self.root = landing / "verified" / "song_data"
        self.replaced: dict[str, set[str]] = {}
        self.added: dict[str, list[str]] = {}

    @staticmethod
    def bucket(key: str) -> str:
        parts = key.split("/")
        return parts[1] if len(parts) > 2 and parts[1].isalnum() else "_other"

    def write(self, processed: Sequence[Rendered]) -> None:
        for item, lines in processed:
            bucket = self.bucket(item.entry.key)
            self.replaced.setdefault(bucket, set()).add(item.entry.key)
            self.added.setdefault(bucket, []).extend(lines or [])

    def remove(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.replaced.setdefault(self.bucket(key), set()).add(key)

    def finish(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for bucket, replaced in self.replaced.items():
            path = self.root / f"{bucket}.json"
            kept = [line for line in _read_lines(path)
                    if json.loads(line).get(SOURCE_KEY) not in replaced]
            write_atomically(path, [*kept, *self.added.get(bucket, [])])


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def ledger_entries(landing: Path) -> tuple[list[LedgerEntry], list[tuple[Any, ...]]]:
    """The ledger and quarantine of one landing folder, for `python -m ingest status`."""
    store = LedgerStore("sqlite")
    with (closing(open_ledger(landing / "ledger.sqlite")) as connection,
          transaction(connection) as cursor):
        entries = list(store.read(cursor).values())
        quarantined = store.quarantined(cursor)
    return entries, quarantined
