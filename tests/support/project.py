"""Where the project and the test fixtures are, and small helpers over a test database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.settings import PostgresSettings, SparkSettings

if TYPE_CHECKING:
    from ingest.spark.conf import SparkSetup

PROJECT_DIR = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT_DIR / "tests" / "fixtures"


def postgres_connect(database: str) -> Any:
    """A connection (autocommit off) to `database` on the server of the SPARKIFY_PG_* settings."""
    from dataclasses import replace

    from ingest.stage.commands import connection_settings
    from ingest.warehouse import connect

    return connect(replace(connection_settings("postgres"), database=database))


@contextmanager
def throwaway_database(prefix: str = "sparkify_test") -> Iterator[str]:
    """A new database on the server of the SPARKIFY_PG_* settings, dropped afterwards."""
    import uuid

    from ingest.stage.commands import connection_settings
    from ingest.warehouse import admin_connect

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = admin_connect(connection_settings("postgres"))
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def postgres_rows(database: str, sql: str) -> list[dict[str, Any]]:
    import psycopg2.extras

    connection = postgres_connect(database)
    try:
        with connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute(sql)
            return [dict(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def copy_handwritten(tmp_path: Path) -> Path:
    """A writable copy of the hand-written raw fixture, as `<tmp_path>/raw`."""
    import shutil

    shutil.copytree(FIXTURES / "raw_handwritten", tmp_path / "raw")
    return tmp_path / "raw"


def copy_project(destination: Path, *extra: str) -> Path:
    """A copy of the dbt project's files (ingest.run.project_files.PROJECT_PARTS) and of the
    `extra` files or folders of the repository in `destination`."""
    import shutil

    from ingest.run.project_files import PROJECT_PARTS

    for part in (*PROJECT_PARTS, *extra):
        source = PROJECT_DIR / part
        if source.is_dir():
            shutil.copytree(source, destination / part)
        else:
            (destination / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / part)
    return destination


def raw_rows(database: str, table: str, schema: str = "sparkify_raw") -> int:
    """Rows in one raw table of a test database."""
    return int(postgres_rows(database, f"select count(*) as n from {schema}.{table}")[0]["n"])


def spark_setup() -> SparkSetup:
    """The Spark setup of the test's environment, as the CLI resolves it."""
    from ingest.spark.conf import SparkSetup

    return SparkSetup(SparkSettings.read(), PostgresSettings.read())
