"""DB-API helpers the ledger's stores share: one transaction per `with`, and the clock.

Every ledger (SQLite for the Spark landing, the raw schema for Postgres and Redshift) is
written through a DB-API connection, so the same two helpers serve them all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any


@contextmanager
def transaction(connection: Any) -> Iterator[Any]:
    """A cursor whose statements commit together, or roll back together on any error."""
    cursor = connection.cursor()
    try:
        yield cursor
        connection.commit()
    except BaseException:
        # a rollback on a lost connection fails too: keep the error that says what happened
        with suppress(Exception):
            connection.rollback()
        raise
    finally:
        with suppress(Exception):
            cursor.close()


def now_utc() -> dt.datetime:
    """Now in UTC, without a zone: how every ledger and raw table stores its timestamps."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
