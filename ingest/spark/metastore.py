"""The Hive metastore every Spark JVM of the project uses: embedded Derby or a PostgreSQL database.

SPARKIFY_METASTORE picks it (docs/metastore.md):

- `derby` (default): `<state>/spark/metastore_db`, embedded in the JVM that opens it. Needs
  nothing but Java, and admits ONE JVM at a time.
- `postgres`: the database SPARKIFY_METASTORE_DATABASE on the SPARKIFY_PG_* server, read by
  every JVM at once (session-mode dbt, `stage`, `run --every`, `stream`, the Thrift Server),
  as on a real cluster. The JVMs need the JDBC driver of Debian's libpostgresql-jdbc-java.

The Postgres schema is created up front, never by DataNucleus inside a first write (that
hung: shared/engine-notes). `ensure_schema` renders the DDL with DataNucleus' SchemaTool from
the `package.jdo` of pyspark's own hive-metastore jar (`-ddlFile`: it writes, never runs), then
runs all of it in ONE PostgreSQL transaction under an advisory lock: two first uses at once
create it once, and a crash leaves no half schema (Postgres DDL is transactional).
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.settings import PostgresSettings, SparkSettings, env_name
from ingest.spark.class_sharing import spark_home

log = logging.getLogger(__name__)

DERBY_DRIVER = "org.apache.derby.jdbc.EmbeddedDriver"
POSTGRES_DRIVER = "org.postgresql.Driver"
# the table the Hive 2.3 schema always holds; its presence means the schema was created
MARKER_TABLE = "TBLS"
# pg_advisory_xact_lock key: one schema creation at a time per database
LOCK_KEY = 0x5370_6B4D  # "SpkM"
JDBC_HINT = ("install the PostgreSQL JDBC driver (Debian/Ubuntu: `apt-get install "
             "libpostgresql-jdbc-java`, or `.ci/run` as root) or point SPARKIFY_JDBC_JAR at "
             "one; or use the embedded metastore (SPARKIFY_METASTORE=derby, the default)")


@dataclass(frozen=True)
class Metastore:
    """Where the metastore is and how a JVM connects to it."""

    kind: Literal["derby", "postgres"]
    url: str
    driver: str
    user: str = ""
    password: str = ""
    database: str = ""
    host: str = ""
    port: int = 0
    jdbc_jar: Path | None = None
    folder: Path | None = None  # Derby's, below the state folder

    @classmethod
    def of(cls, state: StatePaths, spark: SparkSettings, pg: PostgresSettings) -> Metastore:
        """The metastore `spark` (SPARKIFY_METASTORE…) names for `state`; a Postgres one
        on the server of `pg` (SPARKIFY_PG_*)."""
        if spark.metastore == "derby":
            return cls("derby", f"jdbc:derby:;databaseName={state.metastore};create=true",
                       DERBY_DRIVER, folder=state.metastore)
        secret = pg.password.get_secret_value() if pg.password else ""
        url = f"jdbc:postgresql://{pg.host}:{pg.port}/{spark.metastore_database}"
        return cls("postgres", url, POSTGRES_DRIVER, pg.user, secret, spark.metastore_database,
                   pg.host, pg.port, spark.jdbc_jar)

    @property
    def shared(self) -> bool:
        """True when several JVMs may use it at once."""
        return self.kind == "postgres"

    def describe(self) -> str:
        if self.kind == "derby":
            return f"embedded Derby ({self.url.split('databaseName=')[1].split(';')[0]})"
        return f"PostgreSQL database {self.database} on {self.host}:{self.port}"

    def jdo_options(self, *, with_password: bool = True) -> dict[str, str]:
        """The javax.jdo.option.* connection settings (hive-site.xml, spark.hadoop.*)."""
        options = {
            "javax.jdo.option.ConnectionURL": self.url,
            "javax.jdo.option.ConnectionDriverName": self.driver,
        }
        if self.kind == "postgres":
            options["javax.jdo.option.ConnectionUserName"] = self.user
            if with_password and self.password:
                options["javax.jdo.option.ConnectionPassword"] = self.password
        return options

    def require_driver(self) -> Path:
        """The JDBC jar; IngestError saying how to get it when it is missing."""
        if self.jdbc_jar is None:
            raise IngestError("the embedded Derby metastore needs no JDBC driver")
        if not self.jdbc_jar.is_file():
            raise IngestError(
                f"SPARKIFY_METASTORE=postgres needs the PostgreSQL JDBC driver, and "
                f"{self.jdbc_jar} is missing: {JDBC_HINT}")
        return self.jdbc_jar


# --- the PostgreSQL schema ------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaStatus:
    """What the metastore holds: whether its schema exists, and how many databases/tables."""

    metastore: Metastore
    created: bool
    databases: int = 0
    tables: int = 0

    def describe(self) -> str:
        if self.metastore.kind == "derby":
            return (f"metastore: {self.metastore.describe()}; created by the first Spark JVM "
                    "that opens it, one JVM at a time")
        if not self.created:
            return (f"metastore: {self.metastore.describe()}: no schema yet (`python -m "
                    "ingest metastore create`, or any Spark command creates it)")
        return (f"metastore: {self.metastore.describe()}: {self.databases} Spark database(s), "
                f"{self.tables} table(s)")


def _connect(metastore: Metastore, database: str) -> Any:
    import psycopg2

    try:
        return psycopg2.connect(host=metastore.host, port=metastore.port, user=metastore.user,
                                password=metastore.password or None, dbname=database,
                                connect_timeout=10)
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IngestError(
            f"cannot reach the PostgreSQL metastore database {database} on "
            f"{metastore.host}:{metastore.port} as {metastore.user} ({first}); check "
            f"{env_name(PostgresSettings, 'host')}/{env_name(PostgresSettings, 'port')}/"
            f"{env_name(PostgresSettings, 'user')}, or use SPARKIFY_METASTORE=derby") from None


def _create_database(metastore: Metastore) -> None:
    """CREATE DATABASE unless it exists (another process may create it meanwhile)."""
    from psycopg2 import errors

    admin = _connect(metastore, "postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = %s", (metastore.database,))
            if cursor.fetchone():
                return
            log.info("creating the PostgreSQL database %s for the Hive metastore",
                     metastore.database)
            # the name is validated by the setting's pattern; quoted all the same
            with contextlib.suppress(errors.DuplicateDatabase):
                cursor.execute(f'create database "{metastore.database}"')
    finally:
        admin.close()


def _has_schema(cursor: Any) -> bool:
    cursor.execute("select to_regclass(%s) is not null", (f'public."{MARKER_TABLE}"',))
    return bool(cursor.fetchone()[0])


def status(metastore: Metastore) -> SchemaStatus:
    """The metastore's schema and contents (Postgres); Derby is only described."""
    if metastore.kind == "derby":
        return SchemaStatus(metastore, created=bool(metastore.folder and metastore.folder.is_dir()))
    from psycopg2 import errors

    try:
        connection = _connect(metastore, metastore.database)
    except IngestError:
        admin = _connect(metastore, "postgres")  # a clear error when the server is down
        admin.close()
        return SchemaStatus(metastore, created=False)
    try:
        with connection.cursor() as cursor:
            if not _has_schema(cursor):
                return SchemaStatus(metastore, created=False)
            try:
                cursor.execute('select (select count(*) from "DBS"), (select count(*) from "TBLS")')
                databases, tables = cursor.fetchone()
            except errors.Error:
                return SchemaStatus(metastore, created=True)
            return SchemaStatus(metastore, True, int(databases), int(tables))
    finally:
        connection.close()


def ensure_schema(java: Path, metastore: Metastore) -> SchemaStatus:
    """Make the Postgres metastore ready (database and schema); a no-op for Derby.

    `java`: the Java 17+ that renders the DDL (ingest.spark.session.java_binary()).
    Idempotent and safe to call from several processes at once; IngestError when the JDBC
    driver is missing or the server cannot be reached.
    """
    if metastore.kind == "derby":
        return status(metastore)
    metastore.require_driver()
    _create_database(metastore)
    connection = _connect(metastore, metastore.database)
    try:
        with connection.cursor() as cursor:
            if _has_schema(cursor):
                return status(metastore)
            cursor.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            if not _has_schema(cursor):  # nobody created it while we waited for the lock
                statements = schema_statements(metastore, java)
                log.info("creating the Hive metastore schema in %s (%d statements)",
                         metastore.database, len(statements))
                for statement in statements:
                    cursor.execute(statement)
        connection.commit()
    finally:
        connection.close()
    return status(metastore)


def schema_statements(metastore: Metastore, java: Path) -> list[str]:
    """The Hive metastore DDL for PostgreSQL, rendered by SchemaTool from pyspark's jars."""
    jars = spark_home() / "jars"
    metastore_jar = next(iter(sorted(jars.glob("hive-metastore-*.jar"))), None)
    if metastore_jar is None:
        raise IngestError(f"no hive-metastore jar in {jars}: reinstall pyspark (make setup)")
    with tempfile.TemporaryDirectory(prefix="sparkify-metastore-") as scratch:
        folder = Path(scratch)
        with zipfile.ZipFile(metastore_jar) as jar:
            jar.extract("package.jdo", folder)
        properties = {
            **metastore.jdo_options(),
            "datanucleus.identifierFactory": "datanucleus1",
            "datanucleus.rdbms.datastoreAdapterClassName":
                "org.datanucleus.store.rdbms.adapter.PostgreSQLAdapter",
        }
        (folder / "dn.properties").write_text(
            "".join(f"{key}={value}\n" for key, value in properties.items()), encoding="utf-8")
        ddl = folder / "schema.sql"
        classpath = f"{jars}/*:{metastore.require_driver()}"
        command = [str(java), "-cp", classpath,
                   "org.datanucleus.store.schema.SchemaTool", "-create", "-completeDdl",
                   "-ddlFile", str(ddl), "-api", "JDO", "-props", "dn.properties", "package.jdo"]
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                                timeout=300, check=False)
        if result.returncode != 0 or not ddl.is_file():
            tail = "\n".join(f"  | {line}" for line in
                             (result.stdout + result.stderr).strip().splitlines()[-15:])
            raise IngestError(f"SchemaTool could not render the metastore schema "
                              f"(exit {result.returncode}):\n{tail}")
        text = ddl.read_text(encoding="utf-8")
    lines = (line for line in text.splitlines() if not line.lstrip().startswith("--"))
    statements = [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
    if not any(f'"{MARKER_TABLE}"' in statement for statement in statements):
        raise IngestError(f"SchemaTool rendered no {MARKER_TABLE} table: {len(statements)} "
                          "statements")
    return statements
