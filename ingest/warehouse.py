"""Warehouse connections: where PostgreSQL or Redshift is, and a connection to it.

The one module that maps a target to its warehouse dialect (`dialect_of`) and opens
connections, for staging (ingest.stage), the report (ingest.report) and `status` alike.
The settings are the same environment variables as profiles/profiles.yml; only the CLI
reads them (`ConnectionSettings.from_env`) and hands them down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ingest.errors import IngestError
from ingest.settings import PostgresSettings, RedshiftSettings, env_name

log = logging.getLogger(__name__)

Dialect = Literal["postgres", "redshift"]
WAREHOUSE_TARGETS: tuple[Dialect, ...] = ("postgres", "redshift")


def settings_of(target: str) -> ConnectionSettings | None:
    """The connection settings of a target that stages into a database, from the
    environment (SPARKIFY_PG_* / SPARKIFY_REDSHIFT_*); None for the Spark targets. For the
    CLI: the one place that reads them."""
    if target not in WAREHOUSE_TARGETS:
        return None
    return ConnectionSettings.from_env(dialect_of(target))


def dialect_of(target: str) -> Dialect:
    """The warehouse dialect of a target that stages into a database (IngestError else)."""
    for dialect in WAREHOUSE_TARGETS:
        if target == dialect:
            return dialect
    raise IngestError(f"target {target!r} has no warehouse connection: "
                      f"one of {', '.join(WAREHOUSE_TARGETS)}")


_SETTINGS: dict[Dialect, type[PostgresSettings] | type[RedshiftSettings]] = {
    "postgres": PostgresSettings, "redshift": RedshiftSettings}


def _variable(dialect: Dialect, setting: str) -> str:
    """The environment variable of one connection setting, for messages."""
    return env_name(_SETTINGS[dialect], setting)


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
        """The settings of SPARKIFY_PG_* or SPARKIFY_REDSHIFT_* (ingest.settings)."""
        read = _SETTINGS[dialect].read()
        if not read.host:
            raise IngestError(f"set {_variable(dialect, 'host')} to the {dialect} endpoint")
        password = read.password.get_secret_value() if read.password else None
        return cls(dialect=dialect, host=read.host, port=read.port, user=read.user,
                   database=read.database, password=password)

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


def admin_connect(settings: ConnectionSettings) -> Any:
    """An autocommit connection to the `postgres` maintenance database of the server that
    `settings` point at: for creating and dropping databases."""
    if settings.dialect != "postgres":
        raise IngestError(f"no admin connection on {settings.where}: PostgreSQL only")
    connection = connect(replace(settings, database="postgres"))
    connection.autocommit = True
    return connection


def connect_or_create(settings: ConnectionSettings) -> Any:
    """`connect`, but a PostgreSQL database that does not exist yet is created first when
    the user may create databases (a superuser, or a role with CREATEDB), and the log says
    so; else the error says who can (`createdb`). Redshift databases are never created."""
    try:
        return connect(settings)
    except IngestError as exc:
        if settings.dialect != "postgres" or not _database_missing(exc.__cause__):
            raise
    _create_database(settings)
    return connect(settings)


def _database_missing(exc: BaseException | None) -> bool:
    text = str(exc or "")
    return "does not exist" in text and "database" in text


def _create_database(settings: ConnectionSettings) -> None:
    from psycopg2 import errors, sql

    admin = admin_connect(settings)
    try:
        with admin.cursor() as cursor:
            cursor.execute("select rolsuper or rolcreatedb from pg_roles "
                           "where rolname = current_user")
            row = cursor.fetchone()
            if not (row and row[0]):
                raise IngestError(
                    f"database {settings.database!r} does not exist on {settings.where}, and "
                    f"user {settings.user!r} may not create databases: ask someone who may "
                    f"(createdb {settings.database}), or set SPARKIFY_PG_DATABASE")
            try:
                cursor.execute(sql.SQL("create database {}").format(
                    sql.Identifier(settings.database)))
            except errors.DuplicateDatabase:
                return  # another stage created it a moment ago
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(f"database {settings.database!r} does not exist on "
                          f"{settings.where}, and creating it failed: {exc}".strip()) from exc
    finally:
        admin.close()
    log.info("database %r did not exist on %s: created it", settings.database, settings.where)


def describe_connect_error(exc: BaseException, settings: ConnectionSettings) -> str:
    """One line that says what is wrong: server, password, user or database."""
    text = str(exc).strip()
    def variable(setting: str) -> str:
        return _variable(settings.dialect, setting)

    if "password authentication failed" in text or "no password supplied" in text:
        return (f"{settings.where} refused the password of user {settings.user!r}: "
                f"check {variable('password')}")
    if _database_missing(exc):
        return (f"database {settings.database!r} does not exist on {settings.where}: create it "
                f"(createdb {settings.database}) or set {variable('database')}")
    if "does not exist" in text and "role" in text:
        return f"user {settings.user!r} does not exist on {settings.where}: set {variable('user')}"
    first = text.splitlines()[0] if text else type(exc).__name__
    return (f"cannot reach {settings.where} ({first}): is the server running? "
            f"set {variable('host')} and {variable('port')}")
