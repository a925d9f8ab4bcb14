"""A collector on loopback for tests: in a thread of the test process, or as its own process
(`python -m ingest collect`, for SIGTERM), with a moto Kinesis endpoint behind it."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.collect.levels import stop
from ingest.collect.app import Limits, create_app
from ingest.collect.doors import Doors, uvicorn_options
from ingest.collect.keys import KeyStore
from ingest.collect.sink import StreamSink, kinesis_put
from ingest.kinesis.client import KinesisEndpoint, kinesis_client
from ingest.kinesis.shards import ensure_stream
from tests.stream.support import stream_records
from tests.support.kinesis import REGION, kinesis
from tests.support.project import PROJECT_DIR
from tests.support.raw_lines import good_event

STREAM = "collected"
NDJSON = {"Content-Type": "application/x-ndjson"}
DAY = dt.date(2018, 11, 2)
# one verifying TLS context for the tests' requests: httpx builds a new one for each call
# not handed one, loading the CA bundle each time (a call's client 22 ms of CPU, 8 with this;
# the Jepsen test posts some three hundred times)
TLS = httpx.create_ssl_context()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Collector:
    url: str
    key: str
    keys: KeyStore
    kinesis: Any
    stream: str = STREAM

    def post(self, body: bytes | str, *, key: str | None = None,
             headers: dict[str, str] | None = None, **options: Any) -> httpx.Response:
        sent = {**NDJSON, "X-API-Key": self.key if key is None else key, **(headers or {})}
        return httpx.post(f"{self.url}/v1/events", content=body, headers=sent, timeout=30,
                          **{"verify": TLS, **options})

    def stream_lines(self) -> Counter[bytes]:
        return Counter(record.data for record in stream_records(self.kinesis, self.stream))

    def metric(self, name: str, **labels: str) -> float:
        """One sample of the collector's GET /metrics (0 before it is counted)."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(f"{self.url}/metrics", timeout=30, verify=TLS).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    return float(sample.value)
        return 0.0

    def wait_for(self, name: str, above: float, timeout: float = 120, **labels: str) -> float:
        """Poll a metric until it exceeds `above`: a fault test acts on what the collector
        has done, not on a sleep that a loaded machine outruns."""
        deadline = time.monotonic() + timeout
        while (value := self.metric(name, **labels)) <= above:
            assert time.monotonic() < deadline, f"{name}{labels} still {value} after {timeout} s"
            time.sleep(0.05)
        return value


def events(count: int, day: dt.date = DAY, first: int = 0) -> list[bytes]:
    return [good_event(day, number).encode() for number in range(first, first + count)]


@contextmanager
def collector_thread(endpoint: str, state: Path, limits: Limits | None = None, *,
                     linger: float = 0.005, cert: Path | None = None,
                     key_file: Path | None = None, stream: str = STREAM,
                     doors: Doors | None = None) -> Iterator[Collector]:
    """The app under uvicorn in a thread (no signal handling there), on a free port."""
    import uvicorn

    keys = KeyStore(state / "collector" / "api-keys.json")
    _key, text = keys.create("tests")
    # the endpoint of AWS_ENDPOINT_URL, as the command line's (a test may point it elsewhere)
    client = kinesis_client(KinesisEndpoint(REGION, None), attempts=1, connect_timeout=1,
                            read_timeout=5)
    ensure_stream(client, stream, 2)
    sink = StreamSink(kinesis_put(client, stream, attempts=2), linger=linger)
    app = create_app(stream, keys, sink, limits or Limits())
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, **uvicorn_options(doors or Doors()),
                            ssl_certfile=str(cert) if cert else None,
                            ssl_keyfile=str(key_file) if key_file else None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the collector did not start"
        time.sleep(0.02)
    scheme = "https" if cert else "http"
    try:
        yield Collector(f"{scheme}://127.0.0.1:{port}", text, keys, client, stream)
    finally:
        server.should_exit = True
        thread.join(30)


@contextmanager
def collector_process(endpoint: str, state: Path, *extra: str, port: int | None = None,
                      stream: str = STREAM
                      ) -> Iterator[tuple[subprocess.Popen[bytes], Collector]]:
    """`python -m ingest collect` in its own process (stopped with SIGTERM at the end)."""
    keys = KeyStore(state / "collector" / "api-keys.json")
    _key, text = keys.create("tests")
    port = port or free_port()
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "SPARKIFY_STATE_DIR": str(state),
           "PYTHONPATH": str(PROJECT_DIR)}
    log = (state / "collector.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest", "collect", "--stream", stream, "--shards", "2",
         "--port", str(port), *extra], cwd=PROJECT_DIR, env=env, stdout=log,
        stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (state / "collector.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1, verify=TLS).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the collector did not start"
            time.sleep(0.1)
        yield process, Collector(url, text, keys, kinesis(endpoint), stream)
    finally:
        stop(process)
        log.close()
