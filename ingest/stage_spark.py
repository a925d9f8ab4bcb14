"""Register raw song and log data as Spark external tables with explicit schemas."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ingest.errors import IngestError
from ingest.landing import LandingSink
from ingest.paths import StatePaths
from ingest.raw_format import (
    INGESTED_AT,
    LOG_COLUMNS,
    SONG_COLUMNS,
    SOURCE_KEY,
    Columns,
    validate_identifier,
)
from ingest.sources import open_source
from ingest.stage_core import StageOptions, StageReport, stage

log = logging.getLogger(__name__)
Location = Literal["local", "direct"]

PROVENANCE: Columns = ((SOURCE_KEY, "string"), (INGESTED_AT, "timestamp"))


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, str], ...]
    location: str
    options: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class StageResult:
    schema: str
    song_location: str
    log_location: str
    song_rows: int | None
    log_rows: int | None
    landing: StageReport | None = None


def quote_identifier(name: str) -> str:
    return f"`{validate_identifier(name)}`"


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def table_ddl(schema: str, table: TableSpec) -> list[str]:
    """Statements that (re)create one external JSON table; the data itself is never touched."""
    qualified = f"{quote_identifier(schema)}.{quote_identifier(table.name)}"
    columns = ",\n    ".join(f"{quote_identifier(name)} {kind}" for name, kind in table.columns)
    options = ", ".join(f"{quote_string(key)} {quote_string(value)}"
                        for key, value in table.options)
    return [
        f"drop table if exists {qualified}",
        f"create table {qualified} (\n    {columns}\n)\nusing json\n"
        f"options ({options})\nlocation {quote_string(table.location)}",
    ]


def raw_tables(song_location: str, log_location: str) -> list[TableSpec]:
    """The raw fields, plus the provenance the verified landing adds (null when direct)."""
    strict = (("mode", "FAILFAST"), ("multiLine", "false"))
    recursive = (("recursiveFileLookup", "true"), ("pathGlobFilter", "*.json"))
    return [
        TableSpec("song_data", SONG_COLUMNS + PROVENANCE, song_location, strict + recursive),
        TableSpec("log_data", LOG_COLUMNS + PROVENANCE, log_location, strict + recursive),
    ]


def schema_ddl(schema: str, song_location: str, log_location: str) -> list[str]:
    statements = [f"create database if not exists {quote_identifier(schema)}"]
    for table in raw_tables(song_location, log_location):
        statements += table_ddl(schema, table)
    return statements


def landing_folder(state: StatePaths, source_uri: str) -> Path:
    """One landing folder per source, named readably and uniquely."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", source_uri).strip("-")[-60:]
    digest = hashlib.sha1(source_uri.encode(), usedforsecurity=False).hexdigest()[:10]
    return state.landing / f"{readable}-{digest}"


def prepare_local(source_uri: str, state: StatePaths, options: StageOptions | None = None,
                  *, when_valid: Callable[[], None] | None = None
                  ) -> tuple[str, str, StageReport]:
    """Verify what is new into the landing folder; return the folders the tables read.

    `when_valid` is called once the source is known to be usable, before the (long)
    verification: staging starts the Spark JVM there, so that both run at once.
    """
    source = open_source(source_uri)
    landing = landing_folder(state, source.uri)
    sink = LandingSink(landing)
    try:
        result = stage(source, sink, options or StageOptions(), locks=state.locks,
                       lock_identity=("spark landing", str(landing)), when_valid=when_valid)
    finally:
        sink.close()
    verified = landing / "verified"
    return str(verified / "song_data"), str(verified / "log_data"), result


def direct_locations(source_uri: str) -> tuple[str, str]:
    if not source_uri.startswith("s3://"):
        raise IngestError("--location direct needs an s3:// source (the cluster reads S3 itself)")
    base = source_uri.rstrip("/")
    return f"{base}/song_data", f"{base}/log_data"


def stage_spark(source_uri: str, *, schema: str, location: Location = "local",
                state: StatePaths | None = None, spark: Any = None,
                dry_run: bool = False, options: StageOptions | None = None) -> StageResult:
    """Create `<schema>.song_data` and `<schema>.log_data` over verified (or direct) data."""
    state = state or StatePaths.default()
    quote_identifier(schema)
    landing: StageReport | None = None
    starting: list[Callable[[], Any]] = []  # the session being started, once asked for

    def start_spark() -> None:
        if spark is None and not starting:
            from ingest.spark import spark_session_soon

            starting.append(spark_session_soon(state))

    if location == "direct":
        song_location, log_location = direct_locations(source_uri)
    elif dry_run:
        verified = landing_folder(state, open_source(source_uri).uri) / "verified"
        song_location, log_location = str(verified / "song_data"), str(verified / "log_data")
    else:
        song_location, log_location, landing = prepare_local(source_uri, state, options,
                                                             when_valid=start_spark)
    statements = schema_ddl(schema, song_location, log_location)
    if dry_run:
        for statement in statements:
            print(statement + ";\n")
        return StageResult(schema, song_location, log_location, None, None)
    registered = _registration_marker(state, statements)
    if spark is None and landing is not None and not landing.changed and registered.is_file():
        log.info("%s: nothing new, and its tables are registered: Spark not started", schema)
        return StageResult(schema, song_location, log_location,
                           landing.rows.get("song_data", 0), landing.rows.get("log_data", 0),
                           landing)
    if spark is None:
        start_spark()
        spark = starting[0]()
    if landing is None:
        for statement in statements:
            spark.sql(statement)
        log.info("created %s.song_data and %s.log_data over %s", schema, schema, source_uri)
        return StageResult(schema, song_location, log_location, None, None)
    _register(spark, schema, statements, landing)
    registered.parent.mkdir(parents=True, exist_ok=True)
    registered.write_text("\n".join(statements), encoding="utf-8")
    return StageResult(schema, song_location, log_location, landing.rows.get("song_data", 0),
                       landing.rows.get("log_data", 0), landing)


def _registration_marker(state: StatePaths, statements: list[str]) -> Path:
    """A file next to the metastore saying these tables were registered there as stated."""
    digest = hashlib.sha256("\n".join(statements).encode()).hexdigest()[:16]
    return state.spark / "registered" / f"{digest}.sql"


def _register(spark: Any, schema: str, statements: list[str], landing: StageReport) -> None:
    """(Re)create the tables when something changed or they are missing."""
    spark.sql(statements[0])
    existing = {str(row[1]) for row in spark.sql(
        f"show tables in {quote_identifier(schema)}").collect()}
    if landing.changed or not {"song_data", "log_data"} <= existing:
        for statement in statements[1:]:
            spark.sql(statement)
        log.info("registered %s.song_data and %s.log_data over the landing", schema, schema)
