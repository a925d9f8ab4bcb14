"""SQL through a Spark Thrift Server (HiveServer2 protocol): `ThriftSql(...).sql(...).collect()`.

Host, port and user are given: the CLI resolves them from ThriftSettings
(SPARKIFY_THRIFT_HOST/PORT/USER) into a `ThriftEndpoint`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any

from ingest.errors import IngestError

if logging.getLogger("pyhive").level == logging.NOTSET:  # it logs every statement at INFO
    logging.getLogger("pyhive").setLevel(logging.WARNING)

# What the `spark_thrift` profile sends too: HiveServer2 applies only `set:hiveconf:` keys.
SESSION_SETTINGS: Mapping[str, str] = {
    "set:hiveconf:spark.sql.session.timeZone": "UTC",
    "set:hiveconf:spark.sql.ansi.enabled": "false",
}


def _convert(kind: str) -> Callable[[str], Any] | None:
    """HiveServer2 sends these types as text (PyHive parses only timestamps and decimals)."""
    converters: dict[str, Callable[[str], Any]] = {
        "TIMESTAMP_TYPE": dt.datetime.fromisoformat,
        "DATE_TYPE": dt.date.fromisoformat,
        "DECIMAL_TYPE": Decimal,
    }
    return converters.get(kind)


@dataclass(frozen=True)
class ThriftResult:
    """The rows of one statement, already fetched (empty for DDL)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def collect(self) -> list[tuple[Any, ...]]:
        return list(self.rows)

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class ThriftEndpoint:
    """Where a Spark Thrift Server listens, and who its sessions run as (None: the Unix
    user), as the CLI resolved them."""

    host: str
    port: int
    user: str | None = None

    def open(self) -> ThriftSql:
        return ThriftSql(self.host, self.port, self.user)


class ThriftSql:
    """A `spark`-like object over a PyHive HiveServer2 session: `.sql(statement).collect()`.

    The session gets SESSION_SETTINGS (UTC, ANSI off), as the dbt profile's. Timestamps
    come back as naive datetimes in the session zone (UTC), dates as dates, decimals as
    Decimal.
    """

    def __init__(self, host: str, port: int, username: str | None = None, *,
                 configuration: Mapping[str, str] | None = None) -> None:
        from pyhive import hive

        self.host = host
        self.port = port
        self.username = username or _unix_user()
        settings = dict(SESSION_SETTINGS if configuration is None else configuration)
        try:
            self._connection: Any = hive.connect(host=self.host, port=self.port,
                                                 username=self.username,
                                                 configuration=settings)
        except Exception as exc:
            raise IngestError(
                f"cannot open a session on the Spark Thrift Server at {self.host}:{self.port} "
                f"({_error_text(exc)}): is it running? (python -m ingest spark-server status)"
            ) from exc

    def sql(self, statement: str) -> ThriftResult:
        cursor = self._connection.cursor()
        try:
            cursor.execute(statement)
            description = cursor.description or []
            rows = cursor.fetchall() if description else []
        except Exception as exc:
            first = " ".join(statement.split())[:120]
            raise IngestError(f"the Spark Thrift Server failed on `{first}`: "
                              f"{_error_text(exc)}") from exc
        finally:
            cursor.close()
        columns = tuple(str(item[0]).rsplit(".", 1)[-1] for item in description)
        converters = [_convert(str(item[1])) for item in description]
        converted = tuple(
            tuple(convert(value) if convert and isinstance(value, str) else value
                  for value, convert in zip(row, converters, strict=True))
            for row in rows
        )
        return ThriftResult(columns, converted)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.close()

    def __enter__(self) -> ThriftSql:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _unix_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "dbt"


def _error_text(exc: Exception) -> str:
    """PyHive wraps the server's answer in a thrift response: dig out its message."""
    first = exc.args[0] if exc.args else None
    message = getattr(getattr(first, "status", None), "errorMessage", None)
    text = str(message or exc or type(exc).__name__)
    return text.strip().splitlines()[0][:500] if text.strip() else type(exc).__name__
