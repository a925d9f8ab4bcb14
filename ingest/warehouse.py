"""What Postgres and Redshift staging share: connection settings, raw tables, the load ledger.

The raw tables hold one column per raw field (lower-cased, as both engines fold unquoted
names). The ledger `<raw schema>._loaded_objects` records every object loaded, with the
fingerprint it had (S3 ETag, or size and mtime of a local file): an object whose key and
fingerprint are in the ledger is not loaded again, a changed or vanished object has its rows
replaced. The ledger lives next to the raw tables, in the same transactions, so it can never
say "loaded" about rows that are not there.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from ingest.errors import IngestError
from ingest.raw_format import RAW_TABLES, Columns, validate_identifier
from ingest.sources import RawObject

Dialect = Literal["postgres", "redshift"]
LEDGER = "_loaded_objects"
SOURCE_KEY = "_source_key"

_TYPES: dict[Dialect, dict[str, str]] = {
    "postgres": {"int": "integer", "bigint": "bigint", "double": "double precision",
                 "string": "text"},
    "redshift": {"int": "integer", "bigint": "bigint", "double": "double precision",
                 "string": "varchar(max)"},
}
_ENV_PREFIX: dict[Dialect, str] = {"postgres": "SPARKIFY_PG", "redshift": "SPARKIFY_REDSHIFT"}
_DEFAULTS: dict[Dialect, tuple[str, int, str]] = {
    "postgres": ("127.0.0.1", 5432, "postgres"),
    "redshift": ("", 5439, "sparkify"),
}


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the warehouse is; the same environment variables as profiles/profiles.yml."""

    dialect: Dialect
    host: str
    port: int
    user: str
    database: str
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, dialect: Dialect) -> ConnectionSettings:
        prefix = _ENV_PREFIX[dialect]
        host, port, user = _DEFAULTS[dialect]
        secret = "DBT_ENV_SECRET_PG_PASSWORD" if dialect == "postgres" else (
            "DBT_ENV_SECRET_REDSHIFT_PASSWORD")
        settings = cls(
            dialect=dialect,
            host=os.environ.get(f"{prefix}_HOST", host),
            port=int(os.environ.get(f"{prefix}_PORT", str(port))),
            user=os.environ.get(f"{prefix}_USER", user),
            database=os.environ.get(f"{prefix}_DATABASE", "sparkify"),
            password=os.environ.get(secret) or None,
        )
        if not settings.host:
            raise IngestError(f"set {prefix}_HOST to the {dialect} endpoint")
        return settings

    @property
    def where(self) -> str:
        return f"{self.dialect} at {self.host}:{self.port}"


def connect(settings: ConnectionSettings) -> Any:
    """A DB-API connection (autocommit off); IngestError with what to check when it fails."""
    try:
        if settings.dialect == "postgres":
            import psycopg2

            return psycopg2.connect(
                host=settings.host, port=settings.port, user=settings.user,
                password=settings.password, dbname=settings.database, connect_timeout=10,
                application_name="sparkify-ingest",
            )
        import redshift_connector

        return redshift_connector.connect(
            host=settings.host, port=settings.port, user=settings.user,
            password=settings.password or "", database=settings.database, timeout=10,
        )
    except Exception as exc:
        raise IngestError(describe_connect_error(exc, settings)) from exc


def describe_connect_error(exc: BaseException, settings: ConnectionSettings) -> str:
    """One line that says what is wrong: server, password, user or database."""
    text = str(exc).strip()
    prefix = _ENV_PREFIX[settings.dialect]
    if "password authentication failed" in text or "no password supplied" in text:
        secret = "DBT_ENV_SECRET_PG_PASSWORD" if settings.dialect == "postgres" else (
            "DBT_ENV_SECRET_REDSHIFT_PASSWORD")
        return (f"{settings.where} refused the password of user {settings.user!r}: "
                f"check {secret}")
    if "does not exist" in text and "database" in text:
        return (f"database {settings.database!r} does not exist on {settings.where}: create it "
                f"(createdb {settings.database}) or set {prefix}_DATABASE")
    if "does not exist" in text and "role" in text:
        return f"user {settings.user!r} does not exist on {settings.where}: set {prefix}_USER"
    first = text.splitlines()[0] if text else type(exc).__name__
    return (f"cannot reach {settings.where} ({first}): is the server running? "
            f"set {prefix}_HOST and {prefix}_PORT")


@contextmanager
def transaction(connection: Any) -> Iterator[Any]:
    """A cursor whose statements commit together, or roll back together on any error."""
    cursor = connection.cursor()
    try:
        yield cursor
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        cursor.close()


def qualified(schema: str, table: str) -> str:
    return f'"{validate_identifier(schema)}"."{validate_identifier(table)}"'


def column_name(raw_field: str) -> str:
    """The warehouse column of a raw field: lower case, as unquoted SQL names fold."""
    return validate_identifier(raw_field.lower())


def raw_table_ddl(schema: str, table: str, dialect: Dialect) -> str:
    """`create table if not exists` for one raw table; Redshift staging is `backup no`."""
    columns: Columns = RAW_TABLES[table]
    lines = [f"{column_name(name)} {_TYPES[dialect][kind]}" for name, kind in columns]
    if dialect == "postgres":
        lines.append(f"{SOURCE_KEY} text not null")
    body = ",\n    ".join(lines)
    suffix = "\nbackup no" if dialect == "redshift" else ""
    return f"create table if not exists {qualified(schema, table)} (\n    {body}\n){suffix}"


def ledger_ddl(schema: str, dialect: Dialect) -> str:
    text = "varchar(1024)" if dialect == "redshift" else "text"
    suffix = "\nbackup no" if dialect == "redshift" else ""
    return (
        f"create table if not exists {qualified(schema, LEDGER)} (\n"
        f"    table_name varchar(64) not null,\n"
        f"    object_key {text} not null,\n"
        f"    source_uri {text} not null,\n"
        f"    fingerprint varchar(128) not null,\n"
        f"    size_bytes bigint not null,\n"
        f"    row_count bigint,\n"
        f"    loaded_at timestamp not null,\n"
        f"    primary key (table_name, object_key)\n"
        f"){suffix}"
    )


def setup_statements(schema: str, dialect: Dialect) -> list[str]:
    """Schema, both raw tables and the ledger; safe to run again."""
    return [
        f'create schema if not exists "{validate_identifier(schema)}"',
        *(raw_table_ddl(schema, table, dialect) for table in RAW_TABLES),
        ledger_ddl(schema, dialect),
    ]


@dataclass(frozen=True)
class LedgerEntry:
    table: str
    key: str
    source_uri: str
    fingerprint: str


@dataclass(frozen=True)
class TablePlan:
    """What one raw table needs: objects to load, and keys whose rows must go first."""

    table: str
    load: tuple[RawObject, ...]
    stale: tuple[str, ...]
    unchanged: int

    @property
    def removed(self) -> tuple[str, ...]:
        loading = {obj.key for obj in self.load}
        return tuple(key for key in self.stale if key not in loading)


def ledger_exists(cursor: Any, schema: str) -> bool:
    cursor.execute(
        "select count(*) from information_schema.tables where table_schema = %s "
        "and table_name = %s", (schema, LEDGER),
    )
    return int(cursor.fetchone()[0]) > 0


def read_ledger(cursor: Any, schema: str) -> dict[tuple[str, str], LedgerEntry]:
    """Every recorded object by (table, key); empty when the ledger does not exist yet."""
    if not ledger_exists(cursor, schema):
        return {}
    cursor.execute(
        f"select table_name, object_key, source_uri, fingerprint from {qualified(schema, LEDGER)}"
    )
    entries = (LedgerEntry(*row) for row in cursor.fetchall())
    return {(entry.table, entry.key): entry for entry in entries}


def plan_table(table: str, objects: Sequence[RawObject], source_uri: str,
               ledger: dict[tuple[str, str], LedgerEntry]) -> TablePlan:
    """New or changed objects load; changed, vanished or other-source objects are stale."""
    current = {obj.key: obj for obj in objects}
    load: list[RawObject] = []
    stale: list[str] = []
    for obj in objects:
        entry = ledger.get((table, obj.key))
        if entry is None:
            load.append(obj)
        elif entry.fingerprint != obj.fingerprint or entry.source_uri != source_uri:
            load.append(obj)
            stale.append(obj.key)
    for (entry_table, key), _entry in sorted(ledger.items()):
        if entry_table == table and key not in current:
            stale.append(key)
    return TablePlan(table, tuple(load), tuple(stale), len(objects) - len(load))


def ledger_rows(table: str, objects: Iterable[RawObject], source_uri: str,
                row_counts: dict[str, int] | None, loaded_at: dt.datetime
                ) -> list[tuple[str, str, str, str, int, int | None, dt.datetime]]:
    counts = row_counts or {}
    return [(table, obj.key, source_uri, obj.fingerprint, obj.size, counts.get(obj.key),
             loaded_at) for obj in objects]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
