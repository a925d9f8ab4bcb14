"""The `stage` sub-command, and the staging options `run` shares.

The command line is resolved here, at the edge (ingest.stage.dispatch.StageRequest); the
stage itself is ingest.stage.dispatch.stage_target's. A stage outside a scheduled cycle that
changed rows is handed to `on_staged` (the CLI passes the run area's, which marks the
builds of that raw schema behind: ingest.run.commands).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from ingest.errors import EXIT_BUSY, IngestError
from ingest.paths import StatePaths
from ingest.raw.contract import schema_name_argument
from ingest.raw.sources import SourceLocation, parse_source
from ingest.setting_options import checked
from ingest.settings import ProjectSettings, StageSettings

if TYPE_CHECKING:
    from ingest.stage.core import StageOptions
    from ingest.stage.dispatch import StageOutcome, StageRequest


OnStaged = Callable[["StageOutcome"], None]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                 on_staged: OnStaged | None = None) -> None:
    """Register `stage`; `on_staged` hears of every stage that changed rows."""
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
    from ingest.raw.archive import ArchiveRequest
    from ingest.stage.core import StageOptions

    if args.delete_archived and not args.archive:
        raise IngestError("--delete-archived needs --archive DEST")
    archive = ArchiveRequest(args.archive, args.delete_archived) if args.archive else None
    return StageOptions(max_attempts=args.max_attempts, batch_objects=args.batch_objects,
                        prune=args.prune, wait=args.wait, archive=archive)


def require_source(args: argparse.Namespace) -> SourceLocation:
    """`--source`, parsed: the one place a source given as text becomes a location."""
    if not args.source:
        raise IngestError("--source is required (or set SPARKIFY_SOURCE)")
    return parse_source(str(args.source))


def stage_request(args: argparse.Namespace, state: StatePaths | None = None) -> StageRequest:
    """The stage the command line asks for, resolved here: the parsed source, the core's
    options, the warehouse's connection settings (read from the environment, once)."""
    from ingest.stage.dispatch import StageRequest
    from ingest.stage.redshift import RedshiftOptions
    from ingest.warehouse import settings_of

    return StageRequest(
        args.target, require_source(args), args.raw_schema,
        state or StatePaths.of(ProjectSettings.read()),
        stage_options(args), location=getattr(args, "location", "local"),
        dry_run=getattr(args, "dry_run", False), warehouse=settings_of(args.target),
        redshift=RedshiftOptions(getattr(args, "iam_role", None),
                                 getattr(args, "region", None),
                                 getattr(args, "load_files_uri", None)))


def cmd_stage(args: argparse.Namespace, on_staged: OnStaged | None = None) -> int:
    from ingest.stage.dispatch import stage_target

    outcome = stage_target(stage_request(args))
    if outcome.rows_changed and on_staged is not None:
        on_staged(outcome)
    return 0
