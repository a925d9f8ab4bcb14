"""`run`, `pipeline` and `stream` sub-commands: scheduled stage + build cycles, the whole
pipeline, a Kinesis stream staged micro-batch by micro-batch with a build after each."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ingest.errors import IngestError
from ingest.raw.contract import schema_name_argument
from ingest.sample.commands import add_size_options
from ingest.setting_options import checked
from ingest.settings import (
    AwsSettings,
    RunSettings,
    SampleSettings,
    StageSettings,
    StreamSettings,
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
    """Register `run`, `pipeline` and `stream`."""
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
    _add_schema_option(run, settings)
    add_stage_options(run, staging)
    run.set_defaults(handler=cmd_run)

    pipe = commands.add_parser("pipeline", help="the whole pipeline on the embedded Spark")
    pipe.add_argument("--source", type=checked(StageSettings, "source"), default=staging.source,
                      help="raw data to use (default: a generated sample via a local S3)")
    add_raw_schema_option(pipe, staging)
    _add_schema_option(pipe, settings)
    pipe.add_argument("--no-docs", action="store_true", help="skip dbt docs generate")
    pipe.add_argument("--rebuild", action="store_true",
                      help="build the marts even when nothing is new since the last build")
    add_size_options(pipe, SampleSettings.read())
    pipe.set_defaults(handler=cmd_pipeline)
    _add_stream_command(commands, staging, settings)


def _add_stream_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                        staging: StageSettings, settings: RunSettings) -> None:
    streams = StreamSettings.read()
    stream = commands.add_parser(
        "stream", help="Spark Structured Streaming from Kinesis into the landing, each "
                       "micro-batch followed by the incremental dbt build")
    stream.add_argument("--stream", type=checked(StreamSettings, "name"), default=streams.name,
                        help="the Kinesis data stream")
    when = stream.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true",
                      help="read what the stream holds now, then stop (for cron)")
    when.add_argument("--every", type=checked(StreamSettings, "every"), default=streams.every,
                      help="interval between micro-batches, e.g. 30s (default)")
    stream.add_argument("--target", type=checked(StageSettings, "target"), default=staging.target,
                        choices=["spark"])
    stream.add_argument("--source", type=checked(StageSettings, "source"), default=staging.source,
                        help="the batch source: staged first (its songs, and any daily log "
                             "files; songs only is fine), its landing and raw tables are "
                             "the ones the events join")
    add_raw_schema_option(stream, staging)
    _add_schema_option(stream, settings)
    stream.add_argument("--max-records", type=checked(StreamSettings, "max_records"),
                        default=streams.max_records,
                        help="records per micro-batch at most")
    stream.add_argument("--region", type=checked(StreamSettings, "region"), default=streams.region,
                        help="the stream's AWS region")
    stream.set_defaults(handler=cmd_stream)


def _add_schema_option(parser: argparse.ArgumentParser, settings: RunSettings) -> None:
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

    config = CycleConfig(stage_request(args), args.schema)
    every = parse_interval(args.every)
    cycles = 1 if args.once else args.cycles
    return run_every(config, every, cycles=cycles, idle_exit_code=args.idle_exit_code)


def cmd_pipeline(args: argparse.Namespace) -> int:
    from ingest.run.pipeline import format_summary, run_pipeline
    from ingest.sample.generate import GenerateConfig

    sample = GenerateConfig(songs=args.songs, days=args.days,
                            events_per_day=args.events_per_day, seed=args.seed)
    source = require_source(args) if args.source else None
    summary = run_pipeline(source, raw_schema=args.raw_schema, schema=args.schema,
                           docs=not args.no_docs, sample=sample, rebuild=args.rebuild)
    print(format_summary(summary, args.schema))
    return 0


def cmd_stream(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ingest.paths import StatePaths
    from ingest.run.builds import spark_target, staged_by_hand
    from ingest.run.scheduler import build_after, parse_interval, use_schemas
    from ingest.stage.core import StageReport
    from ingest.stage.landing.folder import Landing
    from ingest.stage.ledger_mark import landing_mark
    from ingest.stage.stream import StreamConfig, run_stream
    from ingest.stage.stream_batch import LandedBatch

    if not args.stream:
        raise IngestError("--stream is required (or set SPARKIFY_STREAM)")
    if args.max_records < 1:
        raise IngestError("--max-records must be at least 1")
    every = None if args.once else parse_interval(args.every)
    use_schemas(args.raw_schema, args.schema)
    state = StatePaths.default()
    region = args.region or StageSettings.read().region  # SPARKIFY_REGION, AWS_REGION
    source = require_source(args)
    config = StreamConfig(args.stream, source.uri, args.raw_schema, args.max_records,
                          region, AwsSettings.read().endpoint_url)

    mark = landing_mark(Landing.of(state, source))

    def after_batch(landed: LandedBatch) -> None:
        build_after("spark", state, spark_target(state), args.raw_schema, args.schema, landed,
                    mark)

    def on_interrupted(_batch_id: int) -> None:
        # its rows may have landed (and be replayed as "nothing new") without a build
        staged_by_hand(state, spark_target(state), args.raw_schema)

    sources: list[StageReport] = []

    def on_source_staged(report: StageReport) -> None:
        sources.append(report)
        if every is not None:
            # a continuous stream: what the source brought (new songs) reaches the marts
            # now, not with the next event; --once builds it with its micro-batches
            build_after("spark", state, spark_target(state), args.raw_schema, args.schema,
                        report, mark)

    code = run_stream(config, every=every, state=state, after_batch=after_batch,
                      on_interrupted=on_interrupted, on_source_staged=on_source_staged)
    if args.once and sources:
        # what the source brought and no micro-batch built (an empty stream, or a source
        # staged by hand since the last build): built now, if the ledger moved since
        build_after("spark", state, spark_target(state), args.raw_schema, args.schema,
                    replace(sources[0], rows_changed=False), mark)
    return code
