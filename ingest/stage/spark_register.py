"""Bring the Spark metastore in line with a landing: create the raw tables when missing or
made by other statements, sync the log table's `event_date` partitions with the landed days,
refresh what Spark may have cached. Runs statements through any SqlRunner (the embedded
session, the Thrift Server's client)."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

from ingest.sql_names import quote_identifier, quote_string
from ingest.stage.core import StageReport
from ingest.stage.landing.files import landed_days
from ingest.stage.landing.folder import Landing
from ingest.stage.landing.format import partition_value
from ingest.stage.spark_ddl import TABLE_NAMES, partition_ddl, schema_ddl
from ingest.stage.sql_runner import SqlRunner

log = logging.getLogger(__name__)
_DDL_PROPERTY = "sparkify.ddl_digest"


def register_landing(spark: SqlRunner, schema: str, landing: Landing,
                     report: StageReport) -> None:
    """Bring the tables over `landing` in line with it, as a stage does at its end: for rows
    landed outside a stage (a stream's micro-batches, ingest.stream.query)."""
    statements = schema_ddl(schema, landing.song_location, landing.log_location)
    register(spark, schema, statements, report, landing.verified)


def register(spark: SqlRunner, schema: str, statements: list[str], landing: StageReport,
              verified: Path) -> None:
    """Create the tables when missing or made by other statements; bring the log table's
    partitions in line with the landing's days; refresh what Spark may have cached."""
    _create_database(spark, schema, statements[0])
    existing = {str(row[1]) for row in spark.sql(
        f"show tables in {quote_identifier(schema)}").collect()}
    created = []
    for name, (drop, create) in zip(TABLE_NAMES, _pairs(statements[1:]), strict=True):
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
        for name in TABLE_NAMES:
            if name not in created:
                spark.sql(f"refresh table {quote_identifier(schema)}.{quote_identifier(name)}")


def _create_database(spark: SqlRunner, schema: str, create: str) -> None:
    """Run `create database if not exists` only when the database is missing: the Hive
    metastore answers an existing one with an AlreadyExistsException that its handler logs
    with a ~100-line stack trace (at ERROR), at every stage and every stream micro-batch."""
    listed = spark.sql(f"show databases like {quote_string(schema)}").collect()
    if not any(str(row[0]).lower() == schema.lower() for row in listed):
        spark.sql(create)


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
