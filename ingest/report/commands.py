"""`report`: the dashboard's charts as PNG files and one self-contained HTML file; `status`:
what the ledger of a target knows, and everything that did not load."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.paths import StatePaths, dbt_target_dir, project_root
from ingest.raw.contract import schema_name_argument
from ingest.report.readers import SPARK_TARGETS, TARGETS
from ingest.setting_options import checked
from ingest.settings import ProjectSettings, ReportSettings, RunSettings, StageSettings

if TYPE_CHECKING:
    from ingest.report.source import ReportSource


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `report` and `status`."""
    staging, run = StageSettings.read(), RunSettings.read()
    report = commands.add_parser(
        "report", help="the dashboard's charts as PNG files and one HTML file under target/")
    report.add_argument("--target", type=checked(StageSettings, "target"), default=staging.target,
                        choices=TARGETS,
                        help="whose marts: spark reads the warehouse's parquet files (no JVM)")
    report.add_argument("--schema", default=run.schema_name,
                        type=schema_name_argument("--schema / SPARKIFY_SCHEMA"))
    report.add_argument("--raw-schema", default=staging.raw_schema,
                        type=schema_name_argument("--raw-schema / SPARKIFY_RAW_SCHEMA"),
                        help="where a warehouse's ledger is (pipeline health)")
    report.add_argument("--out", type=Path, default=None,
                        help="output folder (default: <dbt target folder>/report)")
    report.add_argument("--from", dest="start", type=dt.date.fromisoformat, default=None,
                        help="first day (YYYY-MM-DD, UTC)")
    report.add_argument("--to", dest="end", type=dt.date.fromisoformat, default=None,
                        help="last day (YYYY-MM-DD, UTC)")
    report.add_argument("--level", choices=["free", "paid"], default=None)
    report.add_argument("--state", default=None, help="two-letter US state code, e.g. CA")
    report.add_argument("--no-png", action="store_true",
                        help="write the HTML only (PNG export needs Chromium)")
    report.set_defaults(handler=cmd_report)

    status = commands.add_parser("status", help="the ledger: staged, pending, failed, "
                                                "quarantined objects and lines")
    status.add_argument("--target", type=checked(StageSettings, "target"), default=staging.target,
                        choices=["spark", "postgres", "redshift"])
    status.add_argument("--raw-schema", default=staging.raw_schema,
                        type=schema_name_argument("--raw-schema / SPARKIFY_RAW_SCHEMA"))
    status.add_argument("--limit", type=int, default=20, help="quarantined lines to show")
    status.set_defaults(handler=cmd_status)


def report_source(*, target: str | None = None, schema: str | None = None,
                  raw_schema: str | None = None) -> ReportSource:
    """What `report` and the dashboard read: the settings' values, unless given."""
    from ingest.report.source import ReportSource
    from ingest.warehouse import settings_of

    staging, project = StageSettings.read(), ProjectSettings.read()
    configured = ReportSettings.read().target_path
    target = target or staging.target
    return ReportSource(
        target=target,
        schema=schema or RunSettings.read().schema_name,
        raw_schema=raw_schema or staging.raw_schema,
        state=StatePaths.of(project),
        target_dir=dbt_target_dir(configured, project_root(project.project_dir)),
        warehouse=settings_of(target))


def cmd_report(args: argparse.Namespace) -> int:
    from ingest.report.queries import Filters
    from ingest.report.static import write_report

    source = report_source(target=args.target, schema=args.schema, raw_schema=args.raw_schema)
    filters = Filters(args.start, args.end, args.level, args.state)
    reader = source.reader()
    try:
        files = write_report(reader, args.out or source.target_dir / "report",
                             filters=filters, snapshot=source.ledger(), build=source.build(),
                             png=not args.no_png)
    finally:
        reader.close()
    print(f"report: {files.html}" + (f" and {len(files.images)} PNG files" if files.images
                                     else ""))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ingest.paths import StatePaths
    from ingest.report.status import spark_status, warehouse_status
    from ingest.warehouse import ConnectionSettings, dialect_of

    if args.target in SPARK_TARGETS:
        print(spark_status(StatePaths.of(ProjectSettings.read()), args.limit))
    else:
        settings = ConnectionSettings.from_env(dialect_of(args.target))
        print(warehouse_status(settings, args.raw_schema, args.limit))
    return 0
