"""Pipeline health: what the ledger says was loaded and quarantined, and dbt's last build.

The ledger is the Spark landing's SQLite files (`<state>/landing/*/ledger.sqlite`) or the
raw schema's `_loaded_objects` and `_quarantined_lines` on PostgreSQL and Redshift
(ingest.ledger.store). The last build is dbt's `run_results.json` in its target folder (or
the pipeline's copy of it, when `docs generate` ran after the build).
Keys, reasons and raw text come from the data: they are escaped before they are shown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.ledger.db import now_utc, transaction
from ingest.ledger.store import HAS_ROWS, LOADED, QUARANTINED, LedgerEntry, LedgerStore
from ingest.paths import BUILD_RESULTS, StatePaths
from ingest.report.queries import Table
from ingest.report.readers import SPARK_TARGETS, TARGETS, require_settings
from ingest.safe_text import printable
from ingest.sql_names import validate_identifier
from ingest.warehouse import ConnectionSettings, connect

LOG_TABLE = "log_data"


@dataclass(frozen=True)
class QuarantinedLine:
    table: str
    key: str
    line_number: int
    reason: str


@dataclass(frozen=True)
class LedgerSnapshot:
    """Every object the ledger of a target records, and every quarantined line."""

    where: str
    entries: tuple[LedgerEntry, ...]
    quarantined: tuple[QuarantinedLine, ...]

    @property
    def last_log_load(self) -> dt.datetime | None:
        """When the newest log object with rows was loaded: the log source's freshness."""
        times = [entry.loaded_at for entry in self.entries
                 if entry.table == LOG_TABLE and entry.status in HAS_ROWS and entry.loaded_at]
        return max(times, default=None)


def read_ledger(target: str, raw_schema: str, state: StatePaths,
                warehouse: ConnectionSettings | None = None) -> LedgerSnapshot:
    """The ledger of `target`: every landing's on Spark, the raw schema's in the warehouse
    `warehouse` connects to (resolved by the CLI)."""
    if target not in TARGETS:
        raise IngestError(f"no ledger for target {target!r}: one of {', '.join(TARGETS)}")
    if target in SPARK_TARGETS:
        from ingest.stage.landing.ledger import LEDGER_FILE, ledger_entries

        entries: list[LedgerEntry] = []
        lines: list[tuple[object, ...]] = []
        for ledger in sorted(state.landing.glob(f"*/{LEDGER_FILE}")):
            found, quarantined = ledger_entries(ledger.parent)
            entries += found
            lines += quarantined
        return LedgerSnapshot(f"the landing ledgers in {state.landing}", tuple(entries),
                              _lines(lines))
    settings = require_settings(target, warehouse)
    store = LedgerStore(settings.dialect, validate_identifier(raw_schema))
    where = f"{settings.where}, schema {raw_schema}"
    with closing(connect(settings)) as connection, transaction(connection) as cursor:
        cursor.execute("select count(*) from information_schema.tables "
                       "where table_schema = %s and table_name = '_loaded_objects'",
                       (raw_schema,))
        if not int(cursor.fetchone()[0]):
            return LedgerSnapshot(where, (), ())
        return LedgerSnapshot(where, tuple(store.read(cursor).values()),
                              _lines(store.quarantined(cursor)))


def _lines(rows: Sequence[Sequence[object]]) -> tuple[QuarantinedLine, ...]:
    return tuple(QuarantinedLine(str(table), str(key), int(str(number)), str(reason))
                 for table, key, number, reason, *_raw in rows)


def loads_per_day(snapshot: LedgerSnapshot) -> Table:
    """Per day of loading and raw table: objects loaded, rows loaded, lines quarantined."""
    totals: dict[tuple[dt.date, str], list[int]] = {}
    for entry in snapshot.entries:
        if entry.status not in HAS_ROWS or entry.loaded_at is None:
            continue
        counts = totals.setdefault((entry.loaded_at.date(), entry.table), [0, 0, 0])
        counts[0] += 1
        counts[1] += entry.rows_loaded or 0
        counts[2] += entry.rows_quarantined or 0
    rows = tuple((day, table, *counts) for (day, table), counts in sorted(totals.items()))
    return Table("loads_per_day", "Objects and rows loaded per day",
                 ("day", "table", "objects", "rows_loaded", "lines_quarantined"), rows)


def quarantine_reasons(snapshot: LedgerSnapshot) -> Table:
    """Quarantined lines by raw table and reason."""
    counts = Counter((line.table, printable(line.reason)) for line in snapshot.quarantined)
    rows = tuple((table, reason, count) for (table, reason), count
                 in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return Table("quarantine_reasons", "Quarantined lines by reason",
                 ("table", "reason", "lines"), rows)


def problem_objects(snapshot: LedgerSnapshot) -> Table:
    """Objects that did not load: pending (retried), failed and rejected ones."""
    rows = tuple(
        (entry.status, entry.table, printable(entry.key), entry.attempts,
         printable(entry.reason or ""))
        for entry in sorted(snapshot.entries, key=lambda e: (e.status, e.table, e.key))
        if entry.status not in {LOADED, QUARANTINED})
    return Table("problem_objects", "Pending, failed and rejected objects",
                 ("status", "table", "object_key", "attempts", "reason"), rows)


@dataclass(frozen=True)
class BuildResults:
    """dbt's last run_results.json: when, how long, and each node's status."""

    path: Path
    command: str
    generated_at: dt.datetime
    elapsed_seconds: float
    statuses: tuple[tuple[str, str, int], ...]  # (resource kind, status, nodes)
    failures: tuple[str, ...]

    def count(self, kind: str, status: str | None = None) -> int:
        return sum(nodes for found_kind, found_status, nodes in self.statuses
                   if found_kind == kind and status in {None, found_status})

    def table(self) -> Table:
        return Table("last_build", "The last dbt command, by kind of node and status",
                     ("kind", "status", "nodes"), self.statuses)


BUILD_COMMANDS = frozenset({"build", "run", "test", "seed"})


def last_build(target_dir: Path) -> BuildResults | None:
    """The newest build, run or test dbt recorded in `target_dir`; None when dbt never ran.

    `run_results.json` is dbt's last command, `docs generate` included; the pipeline keeps
    its build's copy as BUILD_RESULTS. When neither is a build, the last command is shown.
    """
    found = [results for name in ("run_results.json", BUILD_RESULTS)
             if (results := _read_results(target_dir / name)) is not None]
    builds = [results for results in found if results.command in BUILD_COMMANDS]
    return max(builds or found, key=lambda results: results.generated_at, default=None)


def _read_results(path: Path) -> BuildResults | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        results = data["results"]
        generated = dt.datetime.fromisoformat(str(data["metadata"]["generated_at"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise IngestError(f"{path} is not a dbt run_results.json: {exc}") from exc
    counts = Counter((str(result["unique_id"]).split(".")[0], str(result["status"]))
                     for result in results)
    failures = tuple(sorted(str(result["unique_id"]) for result in results
                            if result["status"] in {"error", "fail", "runtime error"}))
    args = data.get("args") or {}
    return BuildResults(path, str(args.get("which") or "?"),
                        generated.astimezone(dt.UTC).replace(tzinfo=None),
                        float(data.get("elapsed_time") or 0.0),
                        tuple((kind, status, count) for (kind, status), count
                              in sorted(counts.items())), failures)


def age(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """`3 h 5 min ago`, `2 days ago`; `never` for None (times are naive UTC)."""
    if moment is None:
        return "never"
    seconds = max(0.0, ((now or now_utc()) - moment).total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days ago"
    hours, minutes = divmod(int(seconds) // 60, 60)
    return f"{hours} h {minutes} min ago" if hours else f"{minutes} min ago"
