"""`python -m ingest collect`: the collection API served by uvicorn until SIGTERM or Ctrl-C.

Plain HTTP only on a loopback address: anywhere else it needs a certificate and key (TLS;
docs/collector.md shows a self-signed pair for local use). On SIGTERM uvicorn stops
accepting connections and lets the requests in progress finish (their events are put on the
stream before they are answered); then the app's shutdown drains what is still queued.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from ingest.collect.app import Limits, create_app
from ingest.collect.doors import Doors, uvicorn_options
from ingest.collect.keys import KeyStore
from ingest.collect.sink import StreamSink, kinesis_put
from ingest.errors import IngestError
from ingest.kinesis.client import KinesisEndpoint, kinesis_client
from ingest.kinesis.shards import ensure_stream
from ingest.paths import StatePaths

log = logging.getLogger(__name__)
GRACE_SECONDS = 30  # how long SIGTERM waits for the requests in progress


@dataclass(frozen=True)
class ServeOptions:
    """Where and how `collect` serves."""

    stream: str
    endpoint: KinesisEndpoint
    host: str
    port: int
    shards: int
    limits: Limits
    cert: Path | None = None
    key: Path | None = None
    linger: float = 0.005
    max_pending: int = 20_000
    doors: Doors = field(default_factory=Doors)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.cert else 'http'}://{host}:{self.port}"


def key_store(state: StatePaths) -> KeyStore:
    """The API keys of this state folder."""
    return KeyStore(state.root / "collector" / "api-keys.json")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_tls(options: ServeOptions) -> None:
    """TLS needs both files; a non-loopback address needs TLS."""
    if (options.cert is None) != (options.key is None):
        raise IngestError("TLS needs both --cert and --key (PEM files)")
    for path in (options.cert, options.key):
        if path is not None and not path.is_file():
            raise IngestError(f"no such file: {path}")
    if options.cert is None and not is_loopback(options.host):
        raise IngestError(f"--host {options.host} is not a loopback address: serving it "
                          "needs TLS (--cert and --key; docs/collector.md)")


def serve(options: ServeOptions, keys: KeyStore) -> int:
    """Serve until stopped, checking requests against `keys`; returns the exit code."""
    import uvicorn

    check_tls(options)
    if keys.active_count() == 0:
        log.warning("no active API key in %s: every request gets 401 until one is made "
                    "(`python -m ingest collect-key create --name NAME`)", keys.path)
    client = kinesis_client(options.endpoint, attempts=2, connect_timeout=2, read_timeout=10)
    ensure_stream(client, options.stream, options.shards)
    sink = StreamSink(kinesis_put(client, options.stream), linger=options.linger,
                      max_pending=options.max_pending)
    app = create_app(options.stream, keys, sink, options.limits)
    config = uvicorn.Config(
        app, host=options.host, port=options.port, lifespan="on", access_log=False,
        log_level="info", timeout_graceful_shutdown=GRACE_SECONDS,
        **uvicorn_options(options.doors),
        ssl_certfile=str(options.cert) if options.cert else None,
        ssl_keyfile=str(options.key) if options.key else None)
    log.info("collecting events for stream %s on %s (POST /v1/events; keys in %s)",
             options.stream, options.url, keys.path)
    server = uvicorn.Server(config)
    # uvicorn handles SIGTERM (graceful shutdown), then raises it again for the handler that
    # was there before: a no-op one lets `collect` end as a clean stop, exit code 0
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    log.info("collector stopped: every accepted event is on stream %s", options.stream)
    return 0 if server.started else 2


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM once uvicorn has drained: nothing left to do."""
