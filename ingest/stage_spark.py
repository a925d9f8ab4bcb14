"""Register raw song and log data as Spark external tables with explicit schemas."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from ingest.compact import compact_songs
from ingest.errors import IngestError
from ingest.mirror import mirror
from ingest.paths import StatePaths
from ingest.raw_format import LOG_COLUMNS, SONG_COLUMNS, validate_identifier
from ingest.sources import LocalSource, S3Source, open_source, require_raw_layout

log = logging.getLogger(__name__)
Location = Literal["local", "direct"]

PENDING_SUFFIX = "__pending"


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
    strict = (("mode", "FAILFAST"), ("multiLine", "false"))
    recursive = (("recursiveFileLookup", "true"), ("pathGlobFilter", "*.json"))
    return [
        TableSpec("song_data", SONG_COLUMNS, song_location, strict + recursive),
        TableSpec("log_data", LOG_COLUMNS, log_location, strict + recursive),
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


def prepare_local(source_uri: str, state: StatePaths) -> tuple[str, str]:
    """Mirror (S3) and compact; return the local song and log folders the tables read."""
    source = open_source(source_uri)
    listing = require_raw_layout(source)
    landing = landing_folder(state, source.uri)
    log.info("source %s: %d song files, %d log files", source.uri,
             len(listing["song_data"]), len(listing["log_data"]))
    if isinstance(source, S3Source):
        mirror(source, listing["song_data"] + listing["log_data"], landing / "mirror")
        raw_root = landing / "mirror"
    else:
        raw_root = source.root
    local = LocalSource(raw_root)
    songs = compact_songs(listing["song_data"], local.read, landing / "song_data_compacted")
    if not songs.rebuilt:
        log.info("song files unchanged since the last stage: compacted copy reused")
    return str(landing / "song_data_compacted"), str(raw_root / "log_data")


def direct_locations(source_uri: str) -> tuple[str, str]:
    if not source_uri.startswith("s3://"):
        raise IngestError("--location direct needs an s3:// source (the cluster reads S3 itself)")
    base = source_uri.rstrip("/")
    return f"{base}/song_data", f"{base}/log_data"


def stage_spark(source_uri: str, *, schema: str, location: Location = "local",
                state: StatePaths | None = None, spark: Any | None = None,
                dry_run: bool = False) -> StageResult:
    """Create `<schema>.song_data` and `<schema>.log_data`; validate and count when local."""
    state = state or StatePaths.default()
    quote_identifier(schema)
    if location == "direct":
        song_location, log_location = direct_locations(source_uri)
    else:
        song_location, log_location = prepare_local(source_uri, state)
    tables = raw_tables(song_location, log_location)
    if dry_run:
        for statement in schema_ddl(schema, song_location, log_location):
            print(statement + ";\n")
        return StageResult(schema, song_location, log_location, None, None)
    if spark is None:
        from ingest.spark import spark_session

        spark = spark_session(state)
    spark.sql(f"create database if not exists {quote_identifier(schema)}")
    if location == "direct":
        for statement in schema_ddl(schema, song_location, log_location)[1:]:
            spark.sql(statement)
        log.info("created %s.song_data and %s.log_data over %s", schema, schema, source_uri)
        return StageResult(schema, song_location, log_location, None, None)
    counts = _create_validated(spark, schema, tables)
    log.info("staged %s.song_data (%d songs) and %s.log_data (%d events)",
             schema, counts["song_data"], schema, counts["log_data"])
    return StageResult(schema, song_location, log_location,
                       counts["song_data"], counts["log_data"])


def _create_validated(spark: Any, schema: str, tables: list[TableSpec]) -> dict[str, int]:
    """Build each table under a temporary name and read every record once (FAILFAST).

    Only when all of them read cleanly do they replace the live tables: a malformed record
    fails the stage, not a dbt run halfway, and no table definition is half-replaced.
    """
    pending = [replace(table, name=f"{table.name}{PENDING_SUFFIX}") for table in tables]
    counts: dict[str, int] = {}
    try:
        for table, final in zip(pending, tables, strict=True):
            for statement in table_ddl(schema, table):
                spark.sql(statement)
            counts[final.name] = _count(spark, schema, table)
    except IngestError:
        for table in pending:
            spark.sql(f"drop table if exists {_qualified(schema, table.name)}")
        raise
    for table, final in zip(pending, tables, strict=True):
        spark.sql(f"drop table if exists {_qualified(schema, final.name)}")
        spark.sql(f"alter table {_qualified(schema, table.name)} "
                  f"rename to {_qualified(schema, final.name)}")
    return counts


def _qualified(schema: str, table: str) -> str:
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def _count(spark: Any, schema: str, table: TableSpec) -> int:
    key = quote_identifier(table.columns[-1][0])
    try:
        row = spark.sql(f"select count(*), count({key}) from "
                        f"{_qualified(schema, table.name)}").collect()[0]
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:400]
        raise IngestError(
            f"{table.location} holds a record that is not a valid JSON object of the raw "
            f"format, so nothing was staged; fix or remove it and stage again. Spark said: "
            f"{first}"
        ) from exc
    return int(row[0])
