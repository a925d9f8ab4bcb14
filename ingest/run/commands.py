"""`run` and `pipeline` sub-commands: scheduled stage + build cycles, the whole pipeline
(`stream`, a build after each micro-batch, is ingest.stream.commands)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ingest.paths import StatePaths, dbt_target_dir, project_root
from ingest.raw.contract import schema_name_argument
from ingest.sample.commands import add_size_options
from ingest.setting_options import checked
from ingest.settings import (
    ProjectSettings,
    ReportSettings,
    RunSettings,
    SampleSettings,
    StageSettings,
)
from ingest.stage.commands import (
    add_raw_schema_option,
    add_stage_options,
    require_source,
    stage_request,
)

if TYPE_CHECKING:
    from ingest.stage.dispatch import StageOutcome


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `run` and `pipeline`."""
    staging, settings = StageSettings.read(), RunSettings.read()
    run = commands.add_parser("run", help="stage + dbt build every interval, one at a time")
    run.add_argument("--every", type=checked(RunSettings, "every"), default=settings.every,
                     help="interval, e.g. 10m")
    run.add_argument("--once", action="store_true", help="one cycle (for cron)")
    run.add_argument("--cycles", type=int, default=None, help="stop after N cycles")
    run.add_argument("--idle-exit-code", type=checked(RunSettings, "idle_exit_code"),
                     default=settings.idle_exit_code,
                     help="exit code when the last cycle built nothing, having nothing new "
                          "since the last successful build (default 0; 99: Airflow's "
                          "BashOperator marks the task skipped)")
    run.add_argument("--target", type=checked(StageSettings, "target"), default=staging.target,
                     choices=["spark", "postgres"])
    run.add_argument("--source", type=checked(StageSettings, "source"), default=staging.source)
    add_raw_schema_option(run, staging)
    add_schema_option(run, settings)
    add_stage_options(run, staging)
    run.set_defaults(handler=cmd_run)

    pipe = commands.add_parser("pipeline", help="the whole pipeline on the embedded Spark")
    pipe.add_argument("--source", type=checked(StageSettings, "source"), default=staging.source,
                      help="raw data to use (default: a generated sample via a local S3)")
    add_raw_schema_option(pipe, staging)
    add_schema_option(pipe, settings)
    pipe.add_argument("--no-docs", action="store_true", help="skip dbt docs generate")
    pipe.add_argument("--rebuild", action="store_true",
                      help="build the marts even when nothing is new since the last build")
    add_size_options(pipe, SampleSettings.read())
    pipe.set_defaults(handler=cmd_pipeline)


def add_schema_option(parser: argparse.ArgumentParser, settings: RunSettings) -> None:
    """`--schema`: the schema dbt builds the models in (run, pipeline, stream)."""
    parser.add_argument("--schema", default=settings.schema_name,
                        type=schema_name_argument("--schema / SPARKIFY_SCHEMA"))


def mark_builds_behind(staged: StageOutcome) -> None:
    """`stage` changed rows outside a cycle: the marts built from that raw schema are behind,
    so the next cycle builds even though it finds nothing new to stage."""
    from ingest.run.builds import PrunedDays, build_target, staged_by_hand

    target = build_target(staged.state, staged.warehouse)
    PrunedDays.of(staged.state, target, staged.raw_schema).add(staged.pruned_days())
    staged_by_hand(staged.state, target, staged.raw_schema)


def cmd_run(args: argparse.Namespace) -> int:
    from ingest.run.scheduler import CycleConfig, parse_interval, run_every

    project = ProjectSettings.read()
    config = CycleConfig(stage_request(args, StatePaths.of(project)), args.schema,
                         project_root(project.project_dir))
    every = parse_interval(args.every)
    cycles = 1 if args.once else args.cycles
    return run_every(config, every, cycles=cycles, idle_exit_code=args.idle_exit_code)


def cmd_pipeline(args: argparse.Namespace) -> int:
    from ingest.run.pipeline import format_summary, run_pipeline
    from ingest.sample.generate import GenerateConfig

    project = ProjectSettings.read()
    sample = GenerateConfig(songs=args.songs, days=args.days,
                            events_per_day=args.events_per_day, seed=args.seed)
    source = require_source(args) if args.source else None
    root = project_root(project.project_dir)
    summary = run_pipeline(source, raw_schema=args.raw_schema, schema=args.schema,
                           state=StatePaths.of(project), project=root, docs=not args.no_docs,
                           sample=sample, rebuild=args.rebuild,
                           target_path=dbt_target_dir(ReportSettings.read().target_path, root))
    print(format_summary(summary, args.schema))
    return 0
