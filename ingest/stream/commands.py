"""`produce` and `deliver` sub-commands: a source's events onto a Kinesis stream, and back
into raw log objects (docs/streaming.md)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from ingest.errors import IngestError
from ingest.setting_options import checked
from ingest.settings import DeliverSettings, ProduceSettings, StageSettings, StreamSettings

log = logging.getLogger("ingest")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `produce` and `deliver`."""
    stream = StreamSettings.read()
    pace = ProduceSettings.read()
    prod = commands.add_parser("produce", help="replay a source's log events onto a Kinesis "
                                                "stream (creating it if missing)")
    _stream_option(prod, stream)
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
    _stream_option(dlv, stream)
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


def _stream_option(parser: argparse.ArgumentParser, settings: StreamSettings) -> None:
    parser.add_argument("--stream", type=checked(StreamSettings, "name"), default=settings.name,
                        required=settings.name is None,
                        help="Kinesis stream name")


def cmd_produce(args: argparse.Namespace) -> int:
    from ingest.raw.sources import open_source, parse_source
    from ingest.stream.kinesis import ensure_stream, kinesis_client, validate_stream_name
    from ingest.stream.produce import Pace, produce

    stream = validate_stream_name(args.stream)
    pace = Pace.parse(str(args.rate), args.speedup)
    if args.shards < 1:
        raise IngestError(f"--shards {args.shards}: must be at least 1")
    source = open_source(parse_source(args.source))
    client = kinesis_client()
    ensure_stream(client, stream, args.shards, kms_key=args.encrypt)
    report = produce(client, stream, source, pace)
    log.info("%s", report.summary(stream))
    return 0


def cmd_deliver(args: argparse.Namespace) -> int:
    from ingest.locks import exclusive, lock_path
    from ingest.paths import StatePaths
    from ingest.raw.sources import parse_source
    from ingest.stream.checkpoints import Checkpoints
    from ingest.stream.deliver import Delivery, Limits
    from ingest.stream.kinesis import kinesis_client, validate_stream_name
    from ingest.stream.objects import Destination

    stream = validate_stream_name(args.stream)
    for name in ("max_records", "max_bytes", "max_seconds"):
        if getattr(args, name) <= 0:
            raise IngestError(f"--{name.replace('_', '-')}: must be above 0")
    limits = Limits(args.max_records, args.max_bytes, args.max_seconds)
    location = parse_source(args.to)
    state = StatePaths.default()
    identity = (stream, location.uri)
    lock = lock_path(state.locks, "deliver", *identity)
    with exclusive(lock, f"a delivery of stream {stream} to {location.uri}",
                   wait=args.wait):
        destination = Destination(location)
        store = Checkpoints(lock_path(state.root / "stream", "deliver", *identity)
                            .with_suffix(".sqlite"), stream, location.uri)
        try:
            with _stop_on_signals() as stop:
                delivery = Delivery(kinesis_client(), stream, destination, store, limits,
                                    stop)
                report = delivery.run(once=args.once)
        finally:
            store.close()
    log.info("%s", report.summary(stream, location.uri))
    return 0


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
