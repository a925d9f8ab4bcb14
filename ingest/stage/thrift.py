"""Staging for the `spark_thrift` target: `stage_spark` with the tables registered in the
local Spark Thrift Server's metastore, through a `ThriftSql` session."""

from __future__ import annotations

from ingest.paths import StatePaths
from ingest.spark.thrift_sql import ThriftSql
from ingest.stage.core import StageOptions
from ingest.stage.spark import Location, StageResult, stage_spark


def stage_through_server(source_uri: str, *, schema: str, host: str | None = None,
                         port: int | None = None, state: StatePaths | None = None,
                         location: Location = "local", dry_run: bool = False,
                         options: StageOptions | None = None) -> StageResult:
    """`stage_spark` with the tables registered in the Thrift Server's metastore."""
    if dry_run:
        return stage_spark(source_uri, schema=schema, location=location, state=state,
                           dry_run=True, options=options)
    with ThriftSql(host, port) as session:
        return stage_spark(source_uri, schema=schema, location=location, state=state,
                           spark=session, options=options)
