"""Staging from a test: a source given as a path or URI, parsed here (the CLI's job in the
product), then staged through the one dispatch (ingest.stage.dispatch.stage_target)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.paths import StatePaths
from ingest.raw.sources import open_source, parse_source
from ingest.settings import ProjectSettings
from ingest.stage.core import StageOptions, StageReport, TableLoad
from ingest.stage.dispatch import StageOutcome, StageRequest, Target, stage_target
from ingest.stage.landing.folder import Landing, landing_folder
from ingest.stage.spark import prepare_local
from ingest.stage.spark_ddl import Location
from ingest.stage.sql_runner import SqlRunner
from ingest.warehouse import ConnectionSettings, settings_of


def request(target: Target, source: str | Path, *, schema: str = "sparkify_raw",
            state: StatePaths | None = None, options: StageOptions | None = None,
            settings: ConnectionSettings | None = None, location: Location = "local",
            spark: SqlRunner | None = None, dry_run: bool = False) -> StageRequest:
    """The request the CLI would make: settings from the environment unless given."""
    return StageRequest(target, parse_source(str(source)), schema,
                        state or StatePaths.of(ProjectSettings.read()), options or StageOptions(),
                        location=location, dry_run=dry_run,
                        warehouse=settings or settings_of(target), spark=spark)


def stage_postgres(source: str | Path, *, schema: str = "sparkify_raw",
                   settings: ConnectionSettings | None = None, state: StatePaths | None = None,
                   options: StageOptions | None = None, **fields: Any) -> list[TableLoad]:
    """A Postgres stage; `options` or StageOptions' fields (batch_objects, prune, …)."""
    staged = stage_target(request("postgres", source, schema=schema, state=state,
                                  options=options or StageOptions(**fields),
                                  settings=settings))
    assert staged.report is not None
    return staged.report.loads()


def stage_spark(source: str | Path, *, schema: str, state: StatePaths,
                spark: SqlRunner | None = None, options: StageOptions | None = None,
                location: Location = "local", dry_run: bool = False) -> StageOutcome:
    return stage_target(request("spark", source, schema=schema, state=state, options=options,
                                spark=spark, location=location, dry_run=dry_run))


def land(source: str | Path, state: StatePaths,
         options: StageOptions | None = None) -> tuple[str, str, StageReport]:
    """Verify `source` into its landing (no Spark): the folders the tables read, the report."""
    location = parse_source(str(source))
    landing = Landing.of(state, location)
    report = prepare_local(open_source(location), landing, state, options or StageOptions())
    return landing.song_location, landing.log_location, report


def landing_of(state: StatePaths, source: str | Path) -> Path:
    """The landing folder of `source`."""
    return landing_folder(state, parse_source(str(source)))
