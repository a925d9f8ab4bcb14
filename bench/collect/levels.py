"""`python -m bench.collect`: the collector's load figures (BENCHMARKS.md, "collector").

A generated sample's events (many users and sessions, so they spread over the shards) are
posted by the bundled load tool (ingest.collect.load) to a collector process, which puts
them on a Kinesis stream of a moto server process, all on loopback: for each level (1, 10
and 50 clients, batches of 100 events, then single events) a fresh stream and collector,
`--seconds` of load, then the stream is read back and must hold exactly the events that
were answered 200 (none lost, none doubled). Writes bench/results/collect/<date>.json and
the collector section of BENCHMARKS.md.

moto stands in for Kinesis: its put is O(records already in the shard), so a stream slows
down as it fills; a fresh stream per level keeps that out of the comparison between levels.
The same levels then run against a collector whose stream takes everything at once
(`--serve-without-stream`), which shows what the collector itself can do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.collect.load import LoadPlan, LoadResult, run_load, source_lines
from bench.common.machine import load_average, machine
from bench.common.markdown import update_markdown
from ingest.collect.keys import KeyStore
from ingest.paths import StatePaths, project_root
from ingest.raw.sources import open_source, parse_source
from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import ProjectSettings

LEVELS = ((1, 100), (10, 100), (50, 100), (1, 1), (10, 1), (50, 1))
SHARDS = 4
ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
       "AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-west-2"}


@dataclass(frozen=True)
class Level:
    """One level's figures (`stream`: moto, or none: a stream that takes everything at once)."""

    stream: str
    clients: int
    batch: int
    requests: int
    events: int
    seconds: float
    events_per_second: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    on_stream: int | None
    exact: bool | None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.collect", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=None,
                        help="load per level (default 15), or of the one run with --url "
                             "(default: each event of the source once)")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="the markdown file to update (default <project>/BENCHMARKS.md)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default <project>/bench/results/collect)")
    once = parser.add_argument_group(
        "one run against a running collector (the key: SPARKIFY_COLLECT_API_KEY)")
    once.add_argument("--url", default=None, help="the collector, e.g. http://127.0.0.1:8088")
    once.add_argument("--source", default=None,
                      help="local folder or s3://bucket/prefix with log_data/")
    once.add_argument("--clients", type=int, default=1, help="concurrent clients (default 1)")
    once.add_argument("--batch", type=int, default=100,
                      help="events per request (default 100; 1: one event a request)")
    once.add_argument("--cacert", type=Path, default=None,
                      help="CA or self-signed certificate to trust (https URLs)")
    parser.add_argument("--serve-without-stream", type=int, metavar="PORT", default=None,
                        help="serve a collector whose stream takes everything at once, on "
                             "PORT (what the collector itself costs; the bench starts it)")
    args = parser.parse_args(argv)
    if args.serve_without_stream is not None:
        return serve_without_stream(args.serve_without_stream)
    if args.url is not None:
        return load_once(args)
    root = project_root()
    seconds = args.seconds or 15.0
    load_at_start = load_average()
    levels = measure(seconds)
    out = args.out or root / "bench" / "results" / "collect"
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.date.today().isoformat()
    (out / f"{stamp}.json").write_text(
        json.dumps([level.__dict__ for level in levels], indent=1) + "\n", encoding="utf-8")
    update_markdown(args.markdown or root / "BENCHMARKS.md", "collect",
                    section(levels, seconds, stamp, load_at_start))
    for level in levels:
        print(f"{level.stream:>4} {level.clients:>3} clients x {level.batch:>3} events: "
              f"{level.events_per_second:7.0f} events/s {level.requests_per_second:6.0f} "
              f"req/s  p50 {level.p50_ms:6.1f} ms  p99 {level.p99_ms:6.1f} ms  "
              f"errors {level.errors}  exact {level.exact}")
    return 0 if all(level.exact is not False and level.errors == 0 for level in levels) else 1


def serve_without_stream(port: int) -> int:
    """The collector app with the keys of SPARKIFY_STATE_DIR, but no stream behind it."""
    import uvicorn

    from ingest.collect.app import Limits, create_app
    from ingest.collect.server import key_store
    from ingest.collect.sink import StreamSink

    sink = StreamSink(lambda entries: 1)
    app = create_app("none", key_store(StatePaths.of(ProjectSettings.read())), sink,
                     Limits(rate=1e6, burst=10**6))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    return 0


def load_once(args: argparse.Namespace) -> int:
    """Post a source's events to a running collector once; print the figures."""
    from ingest.settings import CollectSettings

    secret = CollectSettings.read().api_key
    if secret is None or args.source is None or args.clients < 1 or args.batch < 1:
        print("error: --url needs --source, SPARKIFY_COLLECT_API_KEY set to a key of the "
              "collector, and --clients and --batch of at least 1", file=sys.stderr)
        return 2
    source = open_source(parse_source(args.source))
    _wait_up(args.url.rstrip("/") + "/healthz", any_answer=True, verify=args.cacert)
    plan = LoadPlan(args.url, secret.get_secret_value(), args.clients, args.batch,
                    args.seconds, args.cacert)
    result = run_load(plan, source)
    print(result.summary())
    return 0 if result.errors == 0 else 1


def measure(seconds: float) -> list[Level]:
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as folder:
        work = Path(folder)
        generate(work / "sample", GenerateConfig(songs=50, days=5, events_per_day=2000,
                                                 seed=7, blank_line_share=0.0))
        lines = source_lines(open_source(parse_source(str(work / "sample"))))
        keys = KeyStore(work / "state" / "collector" / "api-keys.json")
        _key, secret = keys.create("bench")
        levels = []
        moto_port = _free_port()
        endpoint = f"http://127.0.0.1:{moto_port}"
        with _process([sys.executable, "-m", "moto.server", "-p", str(moto_port)],
                      work / "moto.log", {}):
            _wait_up(endpoint + "/moto-api/", any_answer=True)
            for number, (clients, batch) in enumerate(LEVELS):
                stream = f"bench-{number}"
                env = {"AWS_ENDPOINT_URL": endpoint, "SPARKIFY_STATE_DIR": str(work / "state")}
                port = _free_port()
                command = [sys.executable, "-m", "ingest", "collect", "--stream", stream,
                           "--shards", str(SHARDS), "--port", str(port), "--rate", "1000000",
                           "--burst", "1000000"]
                with _process(command, work / f"collector-{number}.log", env):
                    url = f"http://127.0.0.1:{port}"
                    _wait_up(url + "/healthz")
                    result = run_load(LoadPlan(url, secret, clients, batch, seconds), lines)
                levels.append(_level("moto", result, _stream_lines(endpoint, stream)))
        for clients, batch in LEVELS:
            port = _free_port()
            command = [sys.executable, "-m", "bench.collect", "--serve-without-stream",
                       str(port)]
            with _process(command, work / "no-stream.log",
                          {"SPARKIFY_STATE_DIR": str(work / "state")}):
                url = f"http://127.0.0.1:{port}"
                _wait_up(url + "/healthz")
                result = run_load(LoadPlan(url, secret, clients, batch, seconds), lines)
            levels.append(_level("none", result, None))
        return levels


def _level(stream: str, result: LoadResult, on_stream: Counter[bytes] | None) -> Level:
    return Level(stream, result.clients, result.batch, result.requests, result.accepted,
                 round(result.seconds, 2), round(result.events_per_second),
                 round(result.requests_per_second), round(result.percentile(0.5) * 1000, 1),
                 round(result.percentile(0.99) * 1000, 1), result.errors,
                 None if on_stream is None else sum(on_stream.values()),
                 None if on_stream is None else on_stream == result.delivered)


def section(levels: list[Level], seconds: float, stamp: str,
            load_at_start: tuple[float, ...]) -> str:
    host = machine()
    lines = [
        f"### Collector load, {stamp}: {seconds:g} s a level, loopback, moto Kinesis",
        "",
        "`python -m bench.collect` (bench/collect/levels.py): a collector process (uvicorn, one "
        "worker) in front of a moto server process (`moto` rows; a fresh 4-shard stream per "
        "level), then in front of a stream that takes everything at once (`none` rows: what "
        "the collector itself costs: HTTP, keys, verification, batching); the load tool "
        "(bench/collect/load.py, httpx, NDJSON) in the bench process; all on one machine. "
        "`exact`: the stream read back afterwards holds exactly the events answered 200.",
        "",
        "| stream | clients | events a request | requests | events/s | requests/s | p50 ms "
        "| p99 ms | errors | on stream | exact |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [f"| {lv.stream} | {lv.clients} | {lv.batch} | {lv.requests:,} "
              f"| {lv.events_per_second:,.0f} | {lv.requests_per_second:,.0f} | {lv.p50_ms} "
              f"| {lv.p99_ms} | {lv.errors} "
              f"| {'-' if lv.on_stream is None else f'{lv.on_stream:,}'} "
              f"| {'-' if lv.exact is None else 'yes' if lv.exact else 'NO'} |"
              for lv in levels]
    lines += ["", f"Machine: {host.logical_cpus} CPUs ({host.cpu}), load average "
                  f"{load_at_start} at the start and {host.load_average_at_start} at the end: "
                  "shared with other sessions' work while it ran; the collector, moto and the "
                  "load client share the same CPUs too."]
    return "\n".join(lines)


@contextmanager
def _process(command: list[str], log: Path, env: dict[str, str]) -> Iterator[Any]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **ENV, **env}, cwd=project_root())
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, a minute to drain, then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_up(url: str, *, any_answer: bool = False, verify: Path | None = None) -> None:
    """Wait until `url` answers (200, or anything with `any_answer`): a collector started in
    the background a moment ago."""
    import ssl

    import httpx

    trust: ssl.SSLContext | bool = True
    if verify is not None:
        trust = ssl.create_default_context(cafile=str(verify))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1, verify=trust).status_code == 200 or any_answer:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answers at {url}")


def _stream_lines(endpoint: str, stream: str) -> Counter[bytes]:
    import boto3

    from ingest.kinesis.records import get_records, shard_iterator
    from ingest.kinesis.shards import list_shards

    client = boto3.client("kinesis", endpoint_url=endpoint, region_name=ENV["AWS_REGION"],
                          aws_access_key_id="bench", aws_secret_access_key="bench")
    found: Counter[bytes] = Counter()
    for shard in list_shards(client, stream):
        iterator: str | None = shard_iterator(client, stream, shard.shard_id)
        while iterator:
            page = get_records(client, shard.shard_id, iterator)
            found.update(record.data for record in page.records)
            iterator = page.next_iterator if page.records else None
    return found

