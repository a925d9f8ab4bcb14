"""`python -m ingest status`: what the ledger knows, and everything that did not load."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from typing import Any

from ingest.ledger.db import transaction
from ingest.ledger.store import LOADED, STATUSES, LedgerEntry, LedgerStore
from ingest.paths import StatePaths
from ingest.safe_text import printable
from ingest.warehouse import ConnectionSettings, connect


def format_ledger(title: str, entries: Sequence[LedgerEntry],
                  quarantined: Sequence[tuple[Any, ...]], limit: int = 20) -> str:
    """A summary per table, then every pending/failed object and quarantined line.

    Keys, reasons and raw lines come from the data: each line of the report is escaped as a
    whole (the report's own text has no control characters), so none drives the terminal.
    """
    lines = [f"ledger: {title}"]
    if not entries:
        return "\n".join(map(printable, [*lines, "  no objects staged yet"]))
    for table in sorted({entry.table for entry in entries}):
        mine = [entry for entry in entries if entry.table == table]
        counts = Counter(entry.status for entry in mine)
        statuses = ", ".join(f"{counts[status]} {status}" for status in STATUSES
                             if counts[status])
        archived = sum(entry.archived_at is not None for entry in mine)
        if archived:
            statuses += f", {archived} archived"
        lines.append(
            f"  {table}: {len(mine)} objects ({statuses}); "
            f"{sum(entry.rows_loaded or 0 for entry in mine):,} rows loaded, "
            f"{sum(entry.rows_quarantined or 0 for entry in mine):,} quarantined, "
            f"{sum(entry.blank_lines or 0 for entry in mine):,} blank lines"
        )
    problems = sorted((entry for entry in entries if entry.status != LOADED),
                      key=lambda entry: (entry.status, entry.table, entry.key))
    if problems:
        lines.append("  not fully loaded:")
        lines += [f"    {entry.status:<11} {entry.key} (attempts: {entry.attempts}): "
                  f"{entry.reason}" for entry in problems]
    if quarantined:
        lines.append(f"  quarantined lines ({len(quarantined)}):")
        for _table, key, line_number, reason, raw_line in quarantined[:limit]:
            lines.append(f"    {key}:{line_number}: {reason}")
            lines.append(f"        {str(raw_line)[:120]}")
        if len(quarantined) > limit:
            lines.append(f"    … {len(quarantined) - limit} more (--limit to see them)")
    return "\n".join(map(printable, lines))


def spark_status(state: StatePaths, limit: int) -> str:
    from ingest.stage.landing.ledger import ledger_entries

    folders = sorted(path.parent for path in state.landing.glob("*/ledger.sqlite"))
    if not folders:
        return f"ledger: no Spark stage has run yet (nothing under {state.landing})"
    reports = []
    for folder in folders:
        entries, quarantined = ledger_entries(folder)
        title = entries[0].source_uri if entries else folder.name
        reports.append(format_ledger(f"spark, source {title}", entries, quarantined, limit))
    return "\n\n".join(reports)


def warehouse_status(settings: ConnectionSettings, schema: str, limit: int) -> str:
    store = LedgerStore(settings.dialect, schema)
    with closing(connect(settings)) as connection, transaction(connection) as cursor:
        cursor.execute("select count(*) from information_schema.tables "
                       "where table_schema = %s and table_name = '_loaded_objects'", (schema,))
        if not int(cursor.fetchone()[0]):
            return f"ledger: no stage has run into {schema} on {settings.where}"
        entries = list(store.read(cursor).values())
        quarantined = store.quarantined(cursor)
    return format_ledger(f"{settings.where}, schema {schema}", entries, quarantined, limit)
