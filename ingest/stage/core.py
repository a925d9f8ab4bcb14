"""The one staging loop every target shares: lock, list, plan, read, verify, commit, archive.

A sink (the Spark landing folder, a Postgres or a Redshift raw schema) knows only how to
make one batch durable together with its ledger entries, and how to check at start-up that
its data holds what its ledger claims. Everything else, and so every guarantee, lives here
(docs/staging.md says them for users):

- one stage at a time per (source, raw schema, target): an exclusive lock for the whole run;
  a second stage waits for it, or stops at once with `Busy` (`wait=False`);
- durable before recorded: a sink commits a batch's rows and its ledger entries in one
  transaction, or writes (and fsyncs) its files first and the ledger after; before planning,
  it repairs whatever the ledger claims and the data lacks, so the ledger is redone, never
  trusted blindly;
- nothing is implied by absence: a raw folder that lists no object while the ledger holds
  some of it is an error that changes nothing; an object gone from the source keeps its rows
  unless `prune` is asked for, and is reported;
- every non-blank line loads or is quarantined with its reason, and every object is recorded
  with a status (loaded, quarantined, pending, failed, rejected): no input stops the run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

from ingest.errors import IngestError
from ingest.ledger.db import now_utc
from ingest.ledger.store import (
    FAILED,
    HAS_ROWS,
    PENDING,
    QUARANTINED,
    REJECTED,
    LedgerEntry,
    LedgerStatus,
)
from ingest.locks import exclusive, lock_path
from ingest.progress import Progress
from ingest.raw.archive import ArchiveRequest, archive_from_ledger
from ingest.raw.contract import INGESTED_AT, RAW_TABLES, SOURCE_KEY
from ingest.raw.sources import (
    RawObject,
    RawSource,
    ReadResult,
    SourceLocation,
    list_raw,
    no_files_message,
)
from ingest.raw.verify import file_date
from ingest.stage.plan import TablePlan, plan_table
from ingest.stage.process import DEFAULT_MAX_ATTEMPTS, Processed, process_object
from ingest.stage.verifiers import verifier_pool

log = logging.getLogger(__name__)
Ledger = dict[tuple[str, str], LedgerEntry]
# What a sink writes for one verified object (its Payload: parquet parts, COPY rows, JSON
# lines), made in the worker that verified it; None for an object with no rows (pending,
# failed, rejected).
Payload = TypeVar("Payload")
Rendered = tuple[Processed, Payload | None]
Render = Callable[[str, Processed], Payload]


class Sink(Protocol[Payload]):
    """Where verified rows go. `render` must be a module-level function (workers pickle it)."""

    name: str

    @staticmethod
    def render(table: str, item: Processed) -> Payload: ...

    def prepare(self) -> None:
        """Create what the sink needs (tables, ledger); called under the stage lock."""

    def read_ledger(self) -> Ledger: ...

    def repair(self, ledger: Ledger) -> Ledger: ...

    def commit(self, table: str, batch: Sequence[Rendered[Payload]],
               removed: Sequence[str]) -> None: ...

    def mark_archived(self, table: str, keys: Sequence[str]) -> None: ...

    def row_counts(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class StageOptions:
    """How a stage runs; the CLI's options, with the same defaults."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    readers: int = 8
    batch_objects: int = 500
    batch_bytes: int = 64 * 1024 * 1024
    prune: bool = False
    wait: bool = True
    archive: ArchiveRequest | None = None

    def __post_init__(self) -> None:
        if self.batch_objects < 1:
            raise IngestError("--batch-objects must be at least 1")
        if self.max_attempts < 1:
            raise IngestError("--max-attempts must be at least 1")


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
    objects_rejected: int = 0
    objects_vanished: int = 0


@dataclass(frozen=True)
class StageReport:
    """What one stage did, per raw table: its plan, each object processed, rows in the end."""

    plans: dict[str, TablePlan]
    processed: dict[str, list[Processed]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    rows_changed: bool = False

    @property
    def changed(self) -> bool:
        """Objects were processed or removed (a pending retry counts)."""
        return any(not plan.is_empty for plan in self.plans.values())

    def count(self, table: str, status: LedgerStatus) -> int:
        return sum(item.entry.status == status for item in self.processed.get(table, []))

    def changed_days(self) -> frozenset[dt.date] | None:
        """The UTC days of the log objects this stage processed or removed.

        A log object's rows all fall on the date in its name (a verification rule), so these
        are the only days whose rows can have changed. None when a change is not bound to
        days: song objects changed, or a log object's name holds no date.
        """
        days: set[dt.date] = set()
        for table, plan in self.plans.items():
            keys = [*plan.removed, *(item.entry.key for item in self.processed.get(table, []))]
            if keys and table != "log_data":
                return None
            for key in keys:
                day = file_date(key)
                if day is None:
                    return None
                days.add(day)
        return frozenset(days)

    def pruned_days(self) -> frozenset[dt.date] | None:
        """The UTC days of the log objects this stage removed (`--prune`): the marts must
        lose their rows at the next build. None when a removed object's name holds no date
        (its rows may have been on any day)."""
        plan = self.plans.get("log_data")
        days = {file_date(key) for key in (plan.removed if plan else ())}
        return None if None in days else frozenset(day for day in days if day is not None)

    def loads(self) -> list[TableLoad]:
        return [self._load(table, plan) for table, plan in self.plans.items()]

    def _load(self, table: str, plan: TablePlan) -> TableLoad:
        entries = [item.entry for item in self.processed.get(table, [])]
        loaded = [entry for entry in entries if entry.status in HAS_ROWS]
        return TableLoad(
            table, len(loaded), plan.unchanged, len(plan.removed),
            self.count(table, QUARANTINED), self.count(table, PENDING),
            self.count(table, FAILED) + plan.failed,
            sum(entry.rows_loaded or 0 for entry in loaded),
            sum(entry.rows_quarantined or 0 for entry in loaded),
            self.rows.get(table, 0), self.count(table, REJECTED), len(plan.vanished))


def stage(source: RawSource, sink: Sink[Payload], options: StageOptions, *, locks: Path,
          lock_identity: Sequence[str], when_valid: Callable[[], None] | None = None
          ) -> StageReport:
    """Bring the sink's raw tables in line with `source`, under the stage lock.

    `lock_identity` names the target (its kind, where it is, the raw schema): two stages of
    the same source into the same target never overlap. `when_valid` is called once the
    source is known to be usable and there is work, before the long part (Spark starts its
    JVM there, so that both run at once).
    """
    what = f"a stage of {source.uri} into {sink.name}"
    path = lock_path(locks, "stage", source.uri, *lock_identity)
    with exclusive(path, what, wait=options.wait):
        ledger = open_ledger(sink)
        listing = list_raw(source)
        check_listing(source.location, listing, ledger)
        log.info("source %s: %d song files, %d log files", source.uri,
                 len(listing["song_data"]), len(listing["log_data"]))
        return stage_listed(source, sink, ledger, listing, options, when_valid=when_valid)


def open_ledger(sink: Sink[Payload]) -> Ledger:
    """The first steps of a stage, under its lock: the sink prepared, and its ledger read and
    repaired (whatever it claims and the data lacks is redone, never trusted blindly)."""
    sink.prepare()
    return sink.repair(sink.read_ledger())


def stage_listed(source: RawSource, sink: Sink[Payload], ledger: Ledger,
                 listing: dict[str, list[RawObject]], options: StageOptions, *,
                 whole_source: bool = True, when_valid: Callable[[], None] | None = None
                 ) -> StageReport:
    """The rest of a stage, under the caller's lock, once `open_ledger` gave `ledger`: plan
    the listed objects against it, read, verify and commit them, archive, report.

    `whole_source` False: `listing` is not all the source holds (a stream's micro-batch lists
    only its own objects), so what the ledger holds and it lacks has not vanished.
    """
    plans = {table: plan_table(table, objects, source.location, ledger, prune=options.prune)
             for table, objects in listing.items()}
    if not whole_source:
        plans = {table: replace(plan, vanished=()) for table, plan in plans.items()}
    if when_valid is not None and any(not plan.is_empty for plan in plans.values()):
        when_valid()
    processed = process_plans(source, sink, plans, ledger, options)
    if options.archive is not None:
        present = {obj.key for objects in listing.values() for obj in objects}
        archive_from_ledger(sink.read_ledger(), source, options.archive, present,
                            sink.mark_archived)
    report = StageReport(plans, processed, sink.row_counts(),
                         rows_changed(plans, processed, ledger))
    for load in report.loads():
        _report(sink.name, load, plans[load.table])
    return report


def rows_changed(plans: dict[str, TablePlan], processed: dict[str, list[Processed]],
                 ledger: Ledger) -> bool:
    """Whether any raw table gained, lost or replaced rows (a pending retry does not)."""
    if any(plan.removed for plan in plans.values()):
        return True
    for table, items in processed.items():
        for item in items:
            before = ledger.get((table, item.entry.key))
            if item.entry.status in HAS_ROWS or (before and before.status in HAS_ROWS):
                return True
    return False


def check_listing(source: SourceLocation, listing: dict[str, list[RawObject]],
                  ledger: Ledger) -> None:
    """Refuse a raw folder that lists nothing, unless all it ever held was archived, or it
    is the log folder of a source that holds songs (its events come by the stream or the
    collector: `log_data/` may be empty or missing).

    A missing or empty folder (renamed, unmounted, a wrong prefix) must never read as
    "every object was deleted": that would empty the table.
    """
    never_staged = []
    for folder, objects in listing.items():
        if objects:
            continue
        held = [entry for (table, _key), entry in ledger.items()
                if table == folder and entry.source_uri == source.uri]
        live = [entry for entry in held if entry.archived_at is None]
        if not held:
            never_staged.append(folder)
        elif live:
            raise IngestError(
                f"{source.uri}/{folder}/ is missing or empty, but {len(live)} of its objects are "
                "staged: nothing was changed. Check --source (a renamed or unmounted "
                "folder, a wrong prefix); objects really deleted keep their rows unless "
                "they vanish one by one and the stage runs with --prune")
    if never_staged == ["log_data"] and listing["song_data"]:
        log.info("source %s holds songs only (no object under log_data/): its events come "
                 "by `stream` or the collector", source.uri)
    elif never_staged:
        raise IngestError(no_files_message(source.uri, never_staged))


def process_plans(source: RawSource, sink: Sink[Payload], plans: dict[str, TablePlan],
                  ledger: Ledger, options: StageOptions) -> dict[str, list[Processed]]:
    """Read, verify and commit each plan's objects, batch by batch (under the stage lock)."""
    processed: dict[str, list[Processed]] = {}
    total = sum(len(plan.process) for plan in plans.values())
    with (ThreadPoolExecutor(max_workers=options.readers) as readers,
          verifier_pool(total) as verifiers):
        for table, plan in plans.items():
            processed[table] = []
            progress = Progress(log, f"staging {table}", len(plan.process))
            removed = list(plan.removed)
            for batch in batches(plan.process, options.batch_objects, options.batch_bytes):
                reads = list(readers.map(partial(_read, source), batch))
                verify = partial(verify_and_render, table, source=source.location,
                                 now=now_utc(), max_attempts=options.max_attempts,
                                 render=sink.render)
                done: list[Rendered[Payload]] = list(verifiers.map(
                    verify, batch, reads, [ledger.get((table, obj.key)) for obj in batch],
                    chunksize=max(1, len(batch) // 8)))
                sink.commit(table, done, removed)
                removed = []
                processed[table] += [item for item, _payload in done]
                progress.advance(len(batch))
            if removed:
                sink.commit(table, [], removed)
    return processed


def _read(source: RawSource, obj: RawObject) -> ReadResult:
    if obj.problem:
        return ReadResult(None, obj.problem)
    return source.read_listed(obj)


def verify_and_render(table: str, obj: RawObject, read: ReadResult,
                      previous: LedgerEntry | None, *, source: SourceLocation, now: dt.datetime,
                      max_attempts: int, render: Render[Payload]) -> Rendered[Payload]:
    """Verify one object and render its good records for the sink (in a worker process).

    What comes back keeps the ledger entry and the bad lines, not the records: holding
    every record of a large run in memory is what made staging grow with its input.
    """
    item = process_object(table, obj, read.body, source, previous, now, max_attempts,
                          read_error=read.reason)
    if item.verified is None:
        return item, None
    return Processed(item.entry, replace(item.verified, records=[])), render(table, item)


def json_lines(table: str, item: Processed) -> list[str]:
    """The contract's fields of each good record as a JSON line, with its provenance."""
    assert item.verified is not None
    columns = [name for name, _kind in RAW_TABLES[table]]
    stamp = (item.entry.loaded_at or now_utc()).isoformat(sep=" ")
    return [json.dumps({**{name: record.get(name) for name in columns},
                        SOURCE_KEY: item.entry.key, INGESTED_AT: stamp},
                       ensure_ascii=False, allow_nan=False)
            for _number, record in item.verified.records]


def batches(objects: Sequence[RawObject], max_objects: int,
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


def _report(where: str, load: TableLoad, plan: TablePlan) -> None:
    name = f"{where}: {load.table}"
    if plan.is_empty:
        log.info("%s: nothing new (%d objects already staged, %d rows)", name,
                 load.objects_unchanged, load.rows_total)
    else:
        log.info("%s: %d objects processed (%d loaded with %d rows, %d with quarantined "
                 "lines), %d unchanged, %d removed; %d rows in all", name, len(plan.process),
                 load.objects_loaded, load.rows_loaded, load.objects_quarantined,
                 load.objects_unchanged, load.objects_removed, load.rows_total)
    if load.rows_quarantined:
        log.warning("%s: %d bad lines quarantined (python -m ingest status shows them)",
                    name, load.rows_quarantined)
    if load.objects_pending or load.objects_failed or load.objects_rejected:
        log.warning("%s: %d objects pending a retry, %d failed, %d rejected "
                    "(python -m ingest status says why)", name, load.objects_pending,
                    load.objects_failed, load.objects_rejected)
    if plan.vanished and not plan.prune:
        log.warning("%s: %d staged objects are gone from the source and keep their rows "
                    "(e.g. %s); stage with --prune to drop them", name, len(plan.vanished),
                    ", ".join(plan.vanished[:3]))

