"""`produce`, `deliver` and `stream`: a source's events onto a Kinesis stream, back into raw
log objects, and into the Spark landing micro-batch by micro-batch with a build after each
(docs/streaming.md).

The command line is the edge: options and settings are read here (the stream's name, region
and endpoint through ingest.kinesis.commands, the state folder, the source) and passed down
typed; nothing below reads a setting.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from ingest.errors import IngestError
from ingest.kinesis.commands import add_stream_options, endpoint_of, stream_name_of
from ingest.run.commands import add_schema_option
from ingest.setting_options import checked
from ingest.settings import (
    DeliverSettings,
    ProduceSettings,
    ProjectSettings,
    RunSettings,
    StageSettings,
    StreamSettings,
)
from ingest.stage.commands import add_raw_schema_option, require_source

log = logging.getLogger("ingest")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `produce`, `deliver` and `stream`."""
    stream = StreamSettings.read()
    pace = ProduceSettings.read()
    prod = commands.add_parser("produce", help="replay a source's log events onto a Kinesis "
                                                "stream (creating it if missing)")
    add_stream_options(prod)
    source = StageSettings.read().source
    prod.add_argument("--source", default=source, required=source is None,
                      help="local folder or s3://bucket/prefix with log_data/")
    prod.add_argument("--shards", type=checked(StreamSettings, "shards"), default=stream.shards,
                      help=f"shards of a stream it creates (default {stream.shards})")
    speed = prod.add_mutually_exclusive_group()
    speed.add_argument("--rate", type=checked(ProduceSettings, "rate"), default=pace.rate,
                       help=f"events per second, or max (default {pace.rate})")
    speed.add_argument("--speedup", type=checked(ProduceSettings, "speedup"), default=pace.speedup,
                       help="replay the events' own ts timing this many times faster")
    prod.add_argument("--encrypt", metavar="KMS_KEY", type=checked(StreamSettings, "kms_key"),
                      default=stream.kms_key,
                      help="encrypt the stream server-side with this KMS key id or alias")
    prod.set_defaults(handler=cmd_produce)

    limits = DeliverSettings.read()
    dlv = commands.add_parser("deliver", help="write a Kinesis stream's records as raw log "
                                               "objects (like Firehose), checkpointed")
    add_stream_options(dlv)
    dlv.add_argument("--to", type=checked(DeliverSettings, "to"), default=limits.to,
                     required=limits.to is None,
                     help="local folder or s3://bucket/prefix (objects go under log_data/)")
    dlv.add_argument("--once", action="store_true",
                     help="deliver what the stream holds now, then stop")
    dlv.add_argument("--max-records", type=checked(DeliverSettings, "max_records"),
                     default=limits.max_records,
                     help=f"records per shard buffer (default {limits.max_records})")
    dlv.add_argument("--max-bytes", type=checked(DeliverSettings, "max_bytes"),
                     default=limits.max_bytes,
                     help=f"bytes per shard buffer (default {limits.max_bytes})")
    dlv.add_argument("--max-seconds", type=checked(DeliverSettings, "max_seconds"),
                     default=limits.max_seconds,
                     help=f"seconds a shard buffer waits (default {limits.max_seconds:g})")
    dlv.add_argument("--wait", action="store_true",
                     help="wait for another delivery of the same stream and destination to "
                          "stop (default: exit 75 at once)")
    dlv.set_defaults(handler=cmd_deliver)
    _add_stream_command(commands, stream)


def _add_stream_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                        streams: StreamSettings) -> None:
    staging, settings = StageSettings.read(), RunSettings.read()
    stream = commands.add_parser(
        "stream", help="Spark Structured Streaming from Kinesis into the landing, each "
                       "micro-batch followed by the incremental dbt build")
    add_stream_options(stream, required=False, help="the Kinesis data stream")
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
    add_schema_option(stream, settings)
    stream.add_argument("--max-records", type=checked(StreamSettings, "max_records"),
                        default=streams.max_records,
                        help="records per micro-batch at most")
    stream.set_defaults(handler=cmd_stream)


def cmd_produce(args: argparse.Namespace) -> int:
    from ingest.kinesis.client import kinesis_client
    from ingest.kinesis.shards import ensure_stream
    from ingest.raw.sources import open_source, parse_source
    from ingest.stream.produce import Pace, produce

    stream = stream_name_of(args).value
    pace = Pace.parse(str(args.rate), args.speedup)
    if args.shards < 1:
        raise IngestError(f"--shards {args.shards}: must be at least 1")
    source = open_source(parse_source(args.source))
    client = kinesis_client(endpoint_of(args))
    ensure_stream(client, stream, args.shards, kms_key=args.encrypt)
    report = produce(client, stream, source, pace)
    log.info("%s", report.summary(stream))
    return 0


def cmd_deliver(args: argparse.Namespace) -> int:
    from ingest.kinesis.client import kinesis_client
    from ingest.locks import exclusive, lock_path
    from ingest.paths import StatePaths
    from ingest.raw.sources import parse_source
    from ingest.stream.checkpoints import Checkpoints
    from ingest.stream.deliver import Delivery, Limits
    from ingest.stream.delivered_objects import Destination

    stream = stream_name_of(args).value
    for name in ("max_records", "max_bytes", "max_seconds"):
        if getattr(args, name) <= 0:
            raise IngestError(f"--{name.replace('_', '-')}: must be above 0")
    limits = Limits(args.max_records, args.max_bytes, args.max_seconds)
    location = parse_source(args.to)
    endpoint = endpoint_of(args)
    state = StatePaths.of(ProjectSettings.read())
    identity = (stream, location.uri)
    lock = lock_path(state.locks, "deliver", *identity)
    with exclusive(lock, f"a delivery of stream {stream} to {location.uri}",
                   wait=args.wait):
        destination = Destination(location)
        store = Checkpoints(lock_path(state.root / "stream", "deliver", *identity)
                            .with_suffix(".sqlite"), stream, location.uri)
        try:
            with _stop_on_signals() as stop:
                delivery = Delivery(kinesis_client(endpoint), stream, destination, store,
                                    limits, stop)
                report = delivery.run(once=args.once)
        finally:
            store.close()
    log.info("%s", report.summary(stream, location.uri))
    return 0


def cmd_stream(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ingest.paths import StatePaths, project_root
    from ingest.run.builds import spark_target, staged_by_hand
    from ingest.run.dbt import ParsedProject, Schemas
    from ingest.run.scheduler import Builder, build_after, parse_interval
    from ingest.spark.commands import resolved
    from ingest.stage.core import StageReport
    from ingest.stage.landing.folder import Landing
    from ingest.stage.ledger_mark import landing_mark
    from ingest.stream.batch import LandedBatch
    from ingest.stream.query import StreamConfig, run_stream

    stream = stream_name_of(args)
    if args.max_records < 1:
        raise IngestError("--max-records must be at least 1")
    every = None if args.once else parse_interval(args.every)
    project = ProjectSettings.read()
    builder = Builder(project_root(project.project_dir), "spark",
                      Schemas(args.raw_schema, args.schema), ParsedProject())
    state = StatePaths.of(project)
    config = StreamConfig(stream, endpoint_of(args), require_source(args), args.raw_schema,
                          resolved()[1], args.max_records)

    mark = landing_mark(Landing.of(state, config.source))

    def after_batch(landed: LandedBatch) -> None:
        build_after(builder, state, spark_target(state), landed, mark)

    def on_interrupted(_batch_id: int) -> None:
        # its rows may have landed (and be replayed as "nothing new") without a build
        staged_by_hand(state, spark_target(state), args.raw_schema)

    sources: list[StageReport] = []

    def on_source_staged(report: StageReport) -> None:
        sources.append(report)
        if every is not None:
            # a continuous stream: what the source brought (new songs) reaches the marts
            # now, not with the next event; --once builds it with its micro-batches
            build_after(builder, state, spark_target(state), report, mark)

    code = run_stream(config, state, every=every, after_batch=after_batch,
                      on_interrupted=on_interrupted, on_source_staged=on_source_staged)
    if args.once and sources:
        # what the source brought and no micro-batch built (an empty stream, or a source
        # staged by hand since the last build): built now, if the ledger moved since
        build_after(builder, state, spark_target(state), replace(sources[0], rows_changed=False),
                    mark)
    return code


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event SIGTERM and SIGINT set (a clean stop: buffers are written first)."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping after the current buffers are written",
                 signal.Signals(signum).name)
        stop.set()

    previous = {signum: signal.signal(signum, request_stop)
                for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
