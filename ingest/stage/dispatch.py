"""From a target to its stage: the one place that says which staging each target runs.

`stage_target(request)` takes a `StageRequest` (everything resolved at the CLI edge: the
parsed source, the raw schema, the core's options, the warehouse's connection settings)
and returns a `StageOutcome`, whatever the target: the core's report, the days it changed
or pruned, where dbt reads the raw tables, and the mark of the ledger a build records.
`stage` (ingest.stage.commands) and every scheduled cycle (ingest.run.scheduler) call it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Literal, get_args

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.raw.sources import SourceLocation, open_source
from ingest.stage.core import StageOptions, StageReport
from ingest.stage.ledger_mark import LedgerMark, landing_mark, warehouse_mark
from ingest.stage.redshift import RedshiftOptions
from ingest.stage.spark_ddl import Location
from ingest.stage.sql_runner import SqlRunner
from ingest.warehouse import ConnectionSettings

Target = Literal["spark", "spark_thrift", "postgres", "redshift"]
TARGETS: tuple[Target, ...] = get_args(Target)


@dataclass(frozen=True)
class StageRequest:
    """One stage, resolved: which target, from which (parsed) source, into which raw schema.

    `warehouse` is needed by postgres and redshift, `redshift` by redshift; `location` and
    `spark` (a running session, else one is started when needed) by the Spark targets.
    """

    target: Target
    source: SourceLocation
    raw_schema: str
    state: StatePaths
    options: StageOptions = field(default_factory=StageOptions)
    location: Location = "local"
    dry_run: bool = False
    warehouse: ConnectionSettings | None = None
    redshift: RedshiftOptions = field(default_factory=RedshiftOptions)
    spark: SqlRunner | None = field(default=None, compare=False)


@dataclass(frozen=True)
class StageOutcome:
    """What a stage did, the same for every target.

    `report` is None when nothing was verified (a dry run of Spark, tables over the raw
    objects in place); dbt reads the raw tables in `warehouse` (None: the Spark metastore of
    `state`); `ledger_mark` is the mark of the ledger a build records (ingest.run.builds).
    """

    request: StageRequest
    report: StageReport | None
    ledger_mark: LedgerMark = field(compare=False)

    @property
    def raw_schema(self) -> str:
        return self.request.raw_schema

    @property
    def state(self) -> StatePaths:
        return self.request.state

    @property
    def warehouse(self) -> ConnectionSettings | None:
        return self.request.warehouse

    @property
    def rows_changed(self) -> bool:
        """Rows of the raw tables changed (unknown, so yes, for tables over raw objects)."""
        if self.request.dry_run:
            return False
        return self.report is None or self.report.rows_changed

    def rows(self, table: str) -> int | None:
        """The rows of a raw table after the stage (None: not counted)."""
        return None if self.report is None else self.report.rows.get(table, 0)

    def changed_days(self) -> frozenset[dt.date] | None:
        return None if self.report is None else self.report.changed_days()

    def pruned_days(self) -> frozenset[dt.date] | None:
        return frozenset() if self.report is None else self.report.pruned_days()


def stage_target(request: StageRequest) -> StageOutcome:
    """Stage `request.source` into its target (each target's stage opens it, once)."""
    report, mark = _STAGES[request.target](request)
    return StageOutcome(request, report, mark)


Staged = tuple[StageReport | None, LedgerMark]


def _spark(request: StageRequest, session: SqlRunner | None = None) -> Staged:
    from ingest.stage.spark import SparkTables, stage_spark

    tables = SparkTables.of(request.source, request.state, request.location)
    report = stage_spark(request.source, tables, schema=request.raw_schema, state=request.state,
                         spark=session or request.spark, dry_run=request.dry_run,
                         options=request.options)
    return report, landing_mark(tables.landing)


def _spark_thrift(request: StageRequest) -> Staged:
    """The Spark stage, with the tables registered in the Thrift Server's metastore."""
    if request.dry_run or request.spark is not None:
        return _spark(request)
    from ingest.spark.thrift_sql import ThriftSql

    with ThriftSql() as session:
        return _spark(request, session)


def _postgres(request: StageRequest) -> Staged:
    from ingest.stage.postgres import stage_postgres

    settings = _warehouse(request)
    report = stage_postgres(open_source(request.source), schema=request.raw_schema,
                            settings=settings, state=request.state, options=request.options)
    return report, warehouse_mark(settings, request.raw_schema)


def _redshift(request: StageRequest) -> Staged:
    from ingest.stage.redshift import stage_redshift
    from ingest.warehouse import connect

    if request.options.archive is not None:
        raise IngestError("--archive works with --target spark and postgres")
    copy = request.redshift.copy_settings(request.source)
    settings = _warehouse(request)
    source = open_source(request.source)
    with closing(connect(settings)) as connection:
        load = stage_redshift(source, schema=request.raw_schema, copy=copy,
                              connection=connection, where=settings.where,
                              state=request.state, options=request.options,
                              dry_run=request.dry_run)
    return load.report, warehouse_mark(settings, request.raw_schema)


def _warehouse(request: StageRequest) -> ConnectionSettings:
    if request.warehouse is None:
        raise IngestError(f"--target {request.target} needs its connection settings")
    return request.warehouse


_STAGES: dict[Target, Callable[[StageRequest], Staged]] = {
    "spark": _spark, "spark_thrift": _spark_thrift, "postgres": _postgres,
    "redshift": _redshift}
