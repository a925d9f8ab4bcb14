"""`collect` and `collect-key`: the HTTP collection API and its API keys (docs/collector.md)."""

from __future__ import annotations

import argparse
import logging

from ingest.errors import IngestError
from ingest.kinesis.commands import add_stream_options
from ingest.paths import StatePaths
from ingest.setting_options import checked
from ingest.settings import CollectSettings, ProjectSettings, StreamSettings

log = logging.getLogger("ingest")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `collect` and `collect-key`."""
    settings = CollectSettings.read()
    stream = StreamSettings.read()
    serve = commands.add_parser("collect", help="serve the HTTP API that puts posted events "
                                                "on the Kinesis stream (API keys, TLS)")
    add_stream_options(serve, help="Kinesis stream name (created if missing)")
    serve.add_argument("--shards", type=checked(StreamSettings, "shards"), default=stream.shards,
                       help=f"shards of a stream it creates (default {stream.shards})")
    serve.add_argument("--host", type=checked(CollectSettings, "host"), default=settings.host,
                       help=f"address (default {settings.host}; not loopback: TLS only)")
    serve.add_argument("--port", type=checked(CollectSettings, "port"), default=settings.port,
                       help=f"port (default {settings.port})")
    serve.add_argument("--cert", type=checked(CollectSettings, "cert"), default=settings.cert,
                       help="TLS certificate chain (PEM)")
    serve.add_argument("--key", type=checked(CollectSettings, "key"), default=settings.key,
                       help="TLS private key (PEM)")
    serve.add_argument("--rate", type=checked(CollectSettings, "rate"), default=settings.rate,
                       help=f"events per second per API key (default {settings.rate:g})")
    serve.add_argument("--burst", type=checked(CollectSettings, "burst"), default=settings.burst,
                       help=f"events a key may send at once (default {settings.burst})")
    serve.add_argument("--max-body", type=checked(CollectSettings, "max_body"),
                       default=settings.max_body,
                       help=f"bytes per request (default {settings.max_body})")
    serve.add_argument("--max-events", type=checked(CollectSettings, "max_events"),
                       default=settings.max_events,
                       help=f"events per request (default {settings.max_events})")
    serve.add_argument("--linger-ms", type=checked(CollectSettings, "linger_ms"),
                       default=settings.linger_ms,
                       help="ms a PutRecords batch waits for more events "
                            f"(default {settings.linger_ms:g})")
    serve.add_argument("--max-pending", type=checked(CollectSettings, "max_pending"),
                       default=settings.max_pending,
                       help="events waiting for the stream before 503 "
                            f"(default {settings.max_pending})")
    serve.add_argument("--header-timeout", type=checked(CollectSettings, "header_timeout"),
                       default=settings.header_timeout,
                       help="seconds a request's headers may take "
                            f"(default {settings.header_timeout:g})")
    serve.add_argument("--body-timeout", type=checked(CollectSettings, "body_timeout"),
                       default=settings.body_timeout,
                       help="seconds a request's body may take after its headers "
                            f"(default {settings.body_timeout:g})")
    serve.add_argument("--max-connections", type=checked(CollectSettings, "max_connections"),
                       default=settings.max_connections,
                       help="open connections; one more closes the oldest idle one "
                            f"(default {settings.max_connections})")
    serve.set_defaults(handler=cmd_collect)

    keys = commands.add_parser("collect-key", help="create, revoke or list the collector's "
                                                   "API keys (stored hashed in the state)")
    keys.add_argument("action", choices=("create", "revoke", "list"))
    keys.add_argument("--name", help="create: who or what uses the key; revoke: a key id, "
                                     "or a name (every active key of that name)")
    keys.set_defaults(handler=cmd_collect_key)


def cmd_collect(args: argparse.Namespace) -> int:
    from ingest.collect.app import Limits
    from ingest.collect.doors import Doors
    from ingest.collect.server import ServeOptions, key_store, serve
    from ingest.kinesis.commands import endpoint_of, stream_name_of

    for name in ("shards", "rate", "burst", "max_body", "max_events", "max_pending"):
        if getattr(args, name) <= 0:
            raise IngestError(f"--{name.replace('_', '-')}: must be above 0")
    if args.burst < args.max_events:
        raise IngestError(f"--burst {args.burst} is below --max-events {args.max_events}: a "
                          "full request could never pass the rate limit")
    limits = Limits(args.max_body, args.max_events, args.rate, args.burst)
    return serve(ServeOptions(stream_name_of(args).value, endpoint_of(args), args.host, args.port,
                              args.shards, limits, args.cert, args.key,
                              args.linger_ms / 1000, args.max_pending,
                              Doors(header_timeout=args.header_timeout,
                                    body_timeout=args.body_timeout,
                                    max_connections=args.max_connections)),
                 key_store(StatePaths.of(ProjectSettings.read())))


def cmd_collect_key(args: argparse.Namespace) -> int:
    from ingest.collect.server import key_store

    store = key_store(StatePaths.of(ProjectSettings.read()))
    if args.action in ("create", "revoke") and not args.name:
        raise IngestError(f"collect-key {args.action} needs --name")
    if args.action == "create":
        key, text = store.create(args.name)
        log.info("made API key %s (%s) in %s; it is shown once, here:", key.key_id, key.name,
                 store.path)
        print(text)
    elif args.action == "revoke":
        for key in store.revoke(args.name):
            log.info("revoked API key %s (%s)", key.key_id, key.name)
    else:
        for key in store.list():
            state = f"revoked {key.revoked}" if key.revoked else "active"
            print(f"{key.key_id}  {key.name:<20}  created {key.created}  {state}")
    return 0
