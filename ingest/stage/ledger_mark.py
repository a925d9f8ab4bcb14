"""The ledger mark of a target: what its ledger says the raw tables hold, as one digest.

The digest itself is the ledger core's (LedgerStore.state_mark); here each target only
opens its ledger: the Spark landing's SQLite file, or the raw schema of a Postgres or
Redshift database. A build takes the mark before it starts and records it with its marker
(ingest.run.builds), so a stage committed while it runs is built by the next cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing

from ingest.ledger.db import transaction
from ingest.ledger.store import LEDGER, NOTHING_STAGED, LedgerStore
from ingest.stage.landing.folder import Landing
from ingest.stage.landing.ledger import LEDGER_FILE, open_ledger
from ingest.warehouse import ConnectionSettings, connect

LedgerMark = Callable[[], str]
__all__ = ["NOTHING_STAGED", "LedgerMark", "landing_mark", "warehouse_mark"]


def landing_mark(landing: Landing | None) -> LedgerMark:
    """The mark of a Spark landing (where a stream's rows land too); None: tables over the
    raw objects in place, with no ledger."""

    def mark() -> str:
        path = landing.folder / LEDGER_FILE if landing is not None else None
        if path is None or not path.is_file():
            return NOTHING_STAGED
        with closing(open_ledger(path)) as connection, transaction(connection) as cursor:
            return LedgerStore("sqlite").state_mark(cursor)

    return mark


def warehouse_mark(settings: ConnectionSettings, raw_schema: str) -> LedgerMark:
    """The mark of the ledger in `raw_schema` of a Postgres or Redshift database."""

    def mark() -> str:
        with closing(connect(settings)) as connection, transaction(connection) as cursor:
            store = LedgerStore(settings.dialect, raw_schema)
            cursor.execute("select count(*) from information_schema.tables where "
                           "table_schema = %s and table_name = %s",
                           (raw_schema, LEDGER))
            if not cursor.fetchone()[0]:
                return NOTHING_STAGED
            return store.state_mark(cursor)

    return mark
