"""Staging for Spark: verify what is new into the landing (or read the raw objects in place),
then register `<schema>.song_data` and `<schema>.log_data` over it.

This module says what happens in which order (and when Spark need not start at all); the
statements are ingest.stage.spark_ddl's, running them ingest.stage.spark_register's, the
markers ingest.stage.spark_marker's, the landing ingest.stage.landing's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.raw.sources import RawSource, S3Location, SourceLocation, open_source
from ingest.sql_names import validate_identifier
from ingest.stage.core import StageOptions, StageReport, stage
from ingest.stage.landing.files import landed_days
from ingest.stage.landing.folder import Landing
from ingest.stage.landing.sink import LandingSink
from ingest.stage.spark_ddl import Location, partition_ddl, schema_ddl
from ingest.stage.spark_marker import is_registered, record_registered
from ingest.stage.spark_register import register
from ingest.stage.sql_runner import SqlRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SparkTables:
    """Where the raw tables read: the landing's verified folders (`local`), or the raw
    objects in place (`direct`, an S3 source: the cluster reads S3 itself)."""

    location: Location
    song_location: str
    log_location: str
    landing: Landing | None = None

    @classmethod
    def of(cls, source: SourceLocation, state: StatePaths,
           location: Location = "local") -> SparkTables:
        if location == "local":
            landing = Landing.of(state, source)
            return cls(location, landing.song_location, landing.log_location, landing)
        if not isinstance(source, S3Location):
            raise IngestError("--location direct needs an s3:// source "
                              "(the cluster reads S3 itself)")
        return cls(location, f"{source.uri}/song_data", f"{source.uri}/log_data")


def prepare_local(source: RawSource, landing: Landing, state: StatePaths,
                  options: StageOptions, *,
                  when_valid: Callable[[], None] | None = None) -> StageReport:
    """Verify what is new into the landing folder.

    `when_valid` is called once the source is known to be usable, before the (long)
    verification: staging starts the Spark JVM there, so that both run at once.
    """
    sink = LandingSink(landing.folder)
    try:
        return stage(source, sink, options, locks=state.locks,
                     lock_identity=("spark landing", str(landing.folder)),
                     when_valid=when_valid)
    finally:
        sink.close()


def stage_spark(source: SourceLocation, tables: SparkTables, *, schema: str,
                state: StatePaths, spark: SqlRunner | None = None, dry_run: bool = False,
                options: StageOptions) -> StageReport | None:
    """Create `<schema>.song_data` and `<schema>.log_data` over verified (or direct) data;
    the report of the landing's stage (None: a dry run, or tables over the raw objects).

    The source is opened here, once, when the landing reads it (a missing folder or bucket
    fails a dry run too); tables over the raw objects never open it (the cluster reads S3).
    """
    validate_identifier(schema)
    opened = open_source(source) if tables.landing is not None else None
    landing: StageReport | None = None
    starting: list[Callable[[], SqlRunner]] = []  # the session being started, once asked for

    def start_spark() -> None:
        if spark is None and not starting:
            from ingest.spark.session import spark_session_soon

            starting.append(spark_session_soon(state))

    if opened is not None and tables.landing is not None and not dry_run:
        landing = prepare_local(opened, tables.landing, state, options, when_valid=start_spark)
    statements = schema_ddl(schema, tables.song_location, tables.log_location, tables.location)
    if dry_run:
        if tables.landing is not None:
            statements += partition_ddl(schema, landed_days(tables.landing.verified), [])
        for statement in statements:
            print(statement + ";\n")
        return None
    if (spark is None and landing is not None and not landing.changed
            and is_registered(state, statements)):
        log.info("%s: nothing new, and its tables are registered: Spark not started", schema)
        return landing
    if spark is None:
        start_spark()
        spark = starting[0]()
    if landing is None:
        for statement in statements:
            spark.sql(statement)
        log.info("created %s.song_data and %s.log_data over %s", schema, schema, source.uri)
        return None
    register(spark, schema, statements, landing, Path(tables.log_location).parent)
    record_registered(state, statements)
    return landing
