"""`stage` and `status` sub-commands, and the staging options `run` shares.

A stage outside a scheduled cycle that changed rows is handed to `on_staged` (the CLI passes
the run area's, which marks the builds of that raw schema behind: ingest.run.commands).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.errors import EXIT_BUSY, IngestError
from ingest.paths import StatePaths
from ingest.raw.contract import schema_name_argument
from ingest.setting_options import checked
from ingest.settings import StageSettings

if TYPE_CHECKING:
    from ingest.stage.core import StageOptions
    from ingest.stage.warehouse import ConnectionSettings



@dataclass(frozen=True)
class StagedRows:
    """A `stage` changed rows of `raw_schema` in a warehouse (None: the embedded Spark's)."""

    state: StatePaths
    raw_schema: str
    warehouse: ConnectionSettings | None = None
    # the days of log objects it pruned (None: some day unknown), ingest.run.builds
    pruned_days: frozenset[dt.date] | None = frozenset()


OnStaged = Callable[[StagedRows], None]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                 on_staged: OnStaged | None = None) -> None:
    """Register `stage` and `status`; `on_staged` hears of every stage that changed rows."""
    settings = StageSettings.read()
    stage = commands.add_parser("stage", help="register raw data as tables for dbt")
    stage.add_argument("--target", type=checked(StageSettings, "target"), default=settings.target,
                       choices=["spark", "spark_thrift", "postgres", "redshift"],
                       help="spark_thrift: register the tables through the Thrift Server "
                            "(SPARKIFY_THRIFT_HOST/PORT)")
    stage.add_argument("--source", type=checked(StageSettings, "source"), default=settings.source,
                       help="local folder or s3://bucket/prefix with song_data/ and log_data/")
    add_raw_schema_option(stage, settings)
    stage.add_argument("--location", choices=["local", "direct"], type=checked(StageSettings,
                       "location"), default=settings.location,
                       help="local: verify new objects into a landing folder (default); "
                            "direct: tables read s3:// themselves (EMR)")
    stage.add_argument("--iam-role", type=checked(StageSettings, "iam_role"),
                       default=settings.iam_role,
                       help="redshift: ARN of the role the cluster assumes to read S3")
    stage.add_argument("--region", type=checked(StageSettings, "region"), default=settings.region,
                       help="redshift: region of the raw bucket (default AWS_REGION)")
    stage.add_argument("--load-files-uri", type=checked(StageSettings, "load_files_uri"),
                       default=settings.load_files_uri,
                       help="redshift: s3:// prefix for manifests and JSONPaths "
                            "(default <source>/_sparkify_loads)")
    stage.add_argument("--dry-run", action="store_true",
                       help="spark, redshift: print the DDL / COPY statements, run nothing")
    add_stage_options(stage, settings)
    stage.set_defaults(handler=lambda args: cmd_stage(args, on_staged))

    status = commands.add_parser("status", help="the ledger: staged, pending, failed, "
                                                "quarantined objects and lines")
    status.add_argument("--target", type=checked(StageSettings, "target"), default=settings.target,
                        choices=["spark", "postgres", "redshift"])
    add_raw_schema_option(status, settings)
    status.add_argument("--limit", type=int, default=20, help="quarantined lines to show")
    status.set_defaults(handler=cmd_status)


def add_raw_schema_option(parser: argparse.ArgumentParser, settings: StageSettings) -> None:
    parser.add_argument("--raw-schema", default=settings.raw_schema,
                        type=schema_name_argument("--raw-schema / SPARKIFY_RAW_SCHEMA"))


def add_stage_options(parser: argparse.ArgumentParser, settings: StageSettings) -> None:
    """The staging core's options (ingest.stage.core.StageOptions), for stage and run."""
    parser.add_argument("--batch-objects", type=checked(StageSettings, "batch_objects"),
                        default=settings.batch_objects,
                        help="objects per batch: one transaction, or one set of landing "
                             f"files and its ledger commit (default {settings.batch_objects})")
    parser.add_argument("--max-attempts", type=checked(StageSettings, "max_attempts"),
                        default=settings.max_attempts,
                        help="runs an unreadable object stays pending before it is failed "
                             "(and a cut-off last line is quarantined)")
    parser.add_argument("--prune", action="store_true",
                        default=settings.prune,
                        help="drop the rows of objects that vanished from the source "
                             "(default: keep them and report them)")
    wait = parser.add_mutually_exclusive_group()
    wait.add_argument("--wait", dest="wait", action="store_true",
                      help="if another stage of the same source and target runs, wait for it "
                           "(default)")
    wait.add_argument("--no-wait", dest="wait", action="store_false",
                      help="if another stage of the same source and target runs, exit at once "
                           f"with code {EXIT_BUSY}")
    parser.set_defaults(wait=settings.wait)
    parser.add_argument("--archive", type=checked(StageSettings, "archive"),
                        default=settings.archive,
                        help="copy processed raw objects to this folder or s3:// prefix")
    parser.add_argument("--delete-archived", action="store_true",
                        help="with --archive: delete archived objects from the source")


def stage_options(args: argparse.Namespace) -> StageOptions:
    """The staging core's options from the command line (ingest.stage.core)."""
    from ingest.ledger.archive import ArchiveRequest
    from ingest.stage.core import StageOptions

    if args.delete_archived and not args.archive:
        raise IngestError("--delete-archived needs --archive DEST")
    archive = ArchiveRequest(args.archive, args.delete_archived) if args.archive else None
    return StageOptions(max_attempts=args.max_attempts, batch_objects=args.batch_objects,
                        prune=args.prune, wait=args.wait, archive=archive)


def require_source(args: argparse.Namespace) -> str:
    if not args.source:
        raise IngestError("--source is required (or set SPARKIFY_SOURCE)")
    return str(args.source)


def cmd_stage(args: argparse.Namespace, on_staged: OnStaged | None = None) -> int:
    source = require_source(args)
    options = stage_options(args)
    if options.archive and args.target == "redshift":
        raise IngestError("--archive works with --target spark and postgres")
    changed: StagedRows | None = None
    if args.target == "postgres":
        from ingest.stage.postgres import stage_postgres_report
        from ingest.stage.warehouse import ConnectionSettings

        settings = ConnectionSettings.from_env("postgres")
        report = stage_postgres_report(source, schema=args.raw_schema, settings=settings,
                                       options=options)
        if report.rows_changed:
            changed = StagedRows(StatePaths.default(), args.raw_schema, settings,
                                 report.pruned_days())
    elif args.target == "redshift":
        _stage_redshift(args, source, options)
    elif args.target == "spark_thrift":
        from ingest.stage.thrift import stage_through_server

        stage_through_server(source, schema=args.raw_schema, location=args.location,
                             dry_run=args.dry_run, options=options)
    else:
        from ingest.stage.spark import stage_spark

        staged = stage_spark(source, schema=args.raw_schema, location=args.location,
                             dry_run=args.dry_run, options=options)
        if staged.landing is not None and staged.landing.rows_changed:
            changed = StagedRows(StatePaths.default(), args.raw_schema,
                                 pruned_days=staged.landing.pruned_days())
    if changed is not None and on_staged is not None:
        on_staged(changed)
    return 0


def _stage_redshift(args: argparse.Namespace, source: str, options: StageOptions) -> None:
    from ingest.stage.redshift import stage_redshift

    if not args.iam_role:
        raise IngestError("--target redshift needs --iam-role (or SPARKIFY_IAM_ROLE): the "
                          "ARN of the role the cluster uses to read the bucket")
    if not args.region:
        raise IngestError("--target redshift needs --region (or AWS_REGION): the bucket's")
    stage_redshift(source, schema=args.raw_schema, iam_role=args.iam_role,
                   region=args.region, load_files_uri=args.load_files_uri,
                   dry_run=args.dry_run, options=options)


def cmd_status(args: argparse.Namespace) -> int:
    from ingest.stage.status import spark_status, warehouse_status

    if args.target == "spark":
        print(spark_status(StatePaths.default(), args.limit))
    else:
        print(warehouse_status(args.target, args.raw_schema, args.limit))
    return 0
