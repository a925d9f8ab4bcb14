"""Register raw song and log data as Spark external tables with explicit schemas."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.raw.contract import LOG_COLUMNS, PROVENANCE, SONG_COLUMNS, validate_identifier
from ingest.raw.sources import S3Location, SourceLocation, open_source, parse_source
from ingest.stage.core import StageOptions, StageReport, stage
from ingest.stage.landing import LandingSink
from ingest.stage.landing_files import landed_days
from ingest.stage.landing_format import PARTITION_COLUMN, partition_value
from ingest.stage.sql_runner import SqlRunner

log = logging.getLogger(__name__)
Location = Literal["local", "direct"]

@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, str], ...]
    location: str
    options: tuple[tuple[str, str], ...] = ()
    file_format: Literal["json", "parquet"] = "json"
    partitioned_by: tuple[str, ...] = ()


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
    """Statements that (re)create one external table; the data itself is never touched."""
    qualified = f"{quote_identifier(schema)}.{quote_identifier(table.name)}"
    columns = ",\n    ".join(f"{quote_identifier(name)} {kind}" for name, kind in table.columns)
    clauses = [f"using {table.file_format}"]
    if table.options:
        options = ", ".join(f"{quote_string(key)} {quote_string(value)}"
                            for key, value in table.options)
        clauses.append(f"options ({options})")
    if table.partitioned_by:
        clauses.append("partitioned by ("
                       + ", ".join(quote_identifier(name) for name in table.partitioned_by)
                       + ")")
    clauses.append(f"location {quote_string(table.location)}")
    return [
        f"drop table if exists {qualified}",
        f"create table {qualified} (\n    {columns}\n)\n" + "\n".join(clauses),
    ]


def raw_tables(song_location: str, log_location: str,
               location: Location = "local") -> list[TableSpec]:
    """The raw fields, plus the provenance the verified landing adds (null when direct).

    local: parquet over the landing, the log table partitioned by `event_date`; direct:
    JSON over the raw objects (no `event_date`: the staging model computes it).
    """
    if location == "local":
        return [
            TableSpec("song_data", SONG_COLUMNS + PROVENANCE, song_location,
                      file_format="parquet"),
            TableSpec("log_data", LOG_COLUMNS + PROVENANCE + ((PARTITION_COLUMN, "date"),),
                      log_location, file_format="parquet", partitioned_by=(PARTITION_COLUMN,)),
        ]
    strict = (("mode", "FAILFAST"), ("multiLine", "false"))
    recursive = (("recursiveFileLookup", "true"), ("pathGlobFilter", "*.json"))
    return [
        TableSpec("song_data", SONG_COLUMNS + PROVENANCE, song_location, strict + recursive),
        TableSpec("log_data", LOG_COLUMNS + PROVENANCE, log_location, strict + recursive),
    ]


def schema_ddl(schema: str, song_location: str, log_location: str,
               location: Location = "local") -> list[str]:
    statements = [f"create database if not exists {quote_identifier(schema)}"]
    for table in raw_tables(song_location, log_location, location):
        statements += table_ddl(schema, table)
    return statements


def partition_ddl(schema: str, added: Sequence[str], dropped: Sequence[str]) -> list[str]:
    """Statements that add and drop `event_date` partitions of the log table (folder names
    `event_date=YYYY-MM-DD`; the null partition Spark names itself)."""
    qualified = f"{quote_identifier(schema)}.{quote_identifier('log_data')}"
    statements = []
    if added:
        statements.append(f"alter table {qualified} add if not exists "
                          + " ".join(_partition_spec(name) for name in added))
    if dropped:
        statements.append(f"alter table {qualified} drop if exists "
                          + ", ".join(_partition_spec(name) for name in dropped))
    return statements


def _partition_spec(folder: str) -> str:
    day = partition_value(folder)
    if day is None:
        raise IngestError(f"not a date partition of the log table: {folder!r}")
    return f"partition ({quote_identifier(PARTITION_COLUMN)} = {quote_string(day.isoformat())})"


def landing_folder(state: StatePaths, source: SourceLocation) -> Path:
    """One landing folder per source, named readably and uniquely."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", source.uri).strip("-")[-60:]
    digest = hashlib.sha1(source.uri.encode(), usedforsecurity=False).hexdigest()[:10]
    return state.landing / f"{readable}-{digest}"


def prepare_local(source: str | SourceLocation, state: StatePaths,
                  options: StageOptions | None = None, *,
                  when_valid: Callable[[], None] | None = None) -> tuple[str, str, StageReport]:
    """Verify what is new into the landing folder; return the folders the tables read.

    `when_valid` is called once the source is known to be usable, before the (long)
    verification: staging starts the Spark JVM there, so that both run at once.
    """
    location = parse_source(source)
    landing = landing_folder(state, location)
    sink = LandingSink(landing)
    try:
        result = stage(open_source(location), sink, options or StageOptions(), locks=state.locks,
                       lock_identity=("spark landing", str(landing)), when_valid=when_valid)
    finally:
        sink.close()
    verified = landing / "verified"
    return str(verified / "song_data"), str(verified / "log_data"), result


def direct_locations(source: SourceLocation) -> tuple[str, str]:
    """The raw folders the tables read in place (an S3 source only)."""
    if not isinstance(source, S3Location):
        raise IngestError("--location direct needs an s3:// source (the cluster reads S3 itself)")
    return f"{source.uri}/song_data", f"{source.uri}/log_data"


def stage_spark(source: str | SourceLocation, *, schema: str, location: Location = "local",
                state: StatePaths | None = None, spark: SqlRunner | None = None,
                dry_run: bool = False, options: StageOptions | None = None) -> StageResult:
    """Create `<schema>.song_data` and `<schema>.log_data` over verified (or direct) data."""
    state = state or StatePaths.default()
    quote_identifier(schema)
    raw_location = parse_source(source)
    landing: StageReport | None = None
    starting: list[Callable[[], SqlRunner]] = []  # the session being started, once asked for

    def start_spark() -> None:
        if spark is None and not starting:
            from ingest.spark.session import spark_session_soon

            starting.append(spark_session_soon(state))

    if location == "direct":
        song_location, log_location = direct_locations(raw_location)
    elif dry_run:
        open_source(raw_location)  # a missing folder or bucket fails a dry run too
        verified = landing_folder(state, raw_location) / "verified"
        song_location, log_location = str(verified / "song_data"), str(verified / "log_data")
    else:
        song_location, log_location, landing = prepare_local(raw_location, state, options,
                                                             when_valid=start_spark)
    statements = schema_ddl(schema, song_location, log_location, location)
    if dry_run:
        if location == "local":
            statements += partition_ddl(schema, landed_days(Path(log_location).parent), [])
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
        log.info("created %s.song_data and %s.log_data over %s", schema, schema,
                 raw_location.uri)
        return StageResult(schema, song_location, log_location, None, None)
    _register(spark, schema, statements, landing, Path(log_location).parent)
    registered.parent.mkdir(parents=True, exist_ok=True)
    registered.write_text("\n".join(statements), encoding="utf-8")
    return StageResult(schema, song_location, log_location, landing.rows.get("song_data", 0),
                       landing.rows.get("log_data", 0), landing)


def register_landing(spark: SqlRunner, schema: str, state: StatePaths,
                     source: SourceLocation, landing: StageReport) -> None:
    """Bring the tables over `source`'s landing in line with it, as a stage does at its end:
    for rows landed outside a stage (a stream's micro-batches, ingest.stream.query)."""
    verified = landing_folder(state, source) / "verified"
    statements = schema_ddl(schema, str(verified / "song_data"), str(verified / "log_data"))
    _register(spark, schema, statements, landing, verified)


def _registration_marker(state: StatePaths, statements: list[str]) -> Path:
    """A file next to the metastore saying these tables were registered there as stated."""
    digest = hashlib.sha256("\n".join(statements).encode()).hexdigest()[:16]
    return state.spark / "registered" / f"{digest}.sql"


def _register(spark: SqlRunner, schema: str, statements: list[str], landing: StageReport,
              verified: Path) -> None:
    """Create the tables when missing or made by other statements; bring the log table's
    partitions in line with the landing's days; refresh what Spark may have cached."""
    _create_database(spark, schema, statements[0])
    existing = {str(row[1]) for row in spark.sql(
        f"show tables in {quote_identifier(schema)}").collect()}
    created = []
    for name, (drop, create) in zip(_TABLE_NAMES, _pairs(statements[1:]), strict=True):
        made_by = _created_by(spark, schema, name) if name in existing else "missing"
        if made_by == _ddl_digest(create):
            continue
        log.info("%s.%s: %s, made again", schema, name,
                 "missing" if made_by == "missing" else "made by other statements")
        spark.sql(drop)
        spark.sql(_with_digest(create))
        created.append(name)
    if created:
        log.info("registered %s over the landing", ", ".join(f"{schema}.{name}"
                                                             for name in created))
    started = time.monotonic()
    added, dropped = _sync_partitions(spark, schema, verified, fresh="log_data" in created)
    if added or dropped:
        log.info("%s.log_data: %d event_date partitions added, %d dropped (%.1f s)", schema,
                 len(added), len(dropped), time.monotonic() - started)
    if landing.changed:
        for name in _TABLE_NAMES:
            if name not in created:
                spark.sql(f"refresh table {quote_identifier(schema)}.{quote_identifier(name)}")


def _create_database(spark: SqlRunner, schema: str, create: str) -> None:
    """Run `create database if not exists` only when the database is missing: the Hive
    metastore answers an existing one with an AlreadyExistsException that its handler logs
    with a ~100-line stack trace (at ERROR), at every stage and every stream micro-batch."""
    listed = spark.sql(f"show databases like {quote_string(schema)}").collect()
    if not any(str(row[0]).lower() == schema.lower() for row in listed):
        spark.sql(create)


_TABLE_NAMES = ("song_data", "log_data")
_DDL_PROPERTY = "sparkify.ddl_digest"


def _pairs(statements: list[str]) -> list[tuple[str, str]]:
    return [(statements[index], statements[index + 1]) for index in range(0, len(statements), 2)]


def _ddl_digest(create: str) -> str:
    return hashlib.sha256(create.encode()).hexdigest()[:16]


def _with_digest(create: str) -> str:
    """The create statement, stamped with its digest: the metastore then says which
    statement made the table (an earlier version's JSON table is made again)."""
    return (f"{create}\ntblproperties ({quote_string(_DDL_PROPERTY)} = "
            f"{quote_string(_ddl_digest(create))})")


def _created_by(spark: SqlRunner, schema: str, name: str) -> str:
    qualified = f"{quote_identifier(schema)}.{quote_identifier(name)}"
    rows = spark.sql(f"show tblproperties {qualified} ({quote_string(_DDL_PROPERTY)})").collect()
    return str(rows[0][1]) if rows else ""


def _sync_partitions(spark: SqlRunner, schema: str, verified: Path, *,
                     fresh: bool) -> tuple[list[str], list[str]]:
    """Add the landed days the log table lacks, drop the ones no longer landed."""
    qualified = f"{quote_identifier(schema)}.{quote_identifier('log_data')}"
    landed = set(landed_days(verified))
    registered = set() if fresh else {str(row[0]) for row in spark.sql(
        f"show partitions {qualified}").collect()}
    added, dropped = sorted(landed - registered), sorted(registered - landed)
    if any(partition_value(name) is None for name in added + dropped):
        spark.sql(f"msck repair table {qualified} sync partitions")  # the null partition
    else:
        for statement in partition_ddl(schema, added, dropped):
            spark.sql(statement)
    return added, dropped
