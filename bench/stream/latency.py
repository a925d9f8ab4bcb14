"""`python -m bench.stream`: how long from an event put on Kinesis to its row in the marts.

A moto server plays Kinesis on loopback. The batch part of a generated sample (songs and its
first day) is staged and built once (`python -m ingest pipeline`); then a continuous stream
(`python -m ingest stream --every …`, its own process, one warm JVM) runs while this process
puts the other days' events on the stream at a fixed rate for a fixed time, noting when
each NextSong event was accepted by PutRecords. Meanwhile it reads the parquet files of
`fct_songplays` in the warehouse every `--poll` seconds and notes when each play (user,
session, item) first appears. After the last put it waits until every put play is visible
(or `--drain` seconds pass). Reported: events/s put and made visible, end-to-end latency
p50/p95/max (put → visible, over the plays), plays never seen, micro-batches and their
builds (from the stream's log), peak RSS of the stream's process tree.

The figures go to `<out>/<date>-stream.json` and, with `--markdown`, to BENCHMARKS.md
between the `stream` markers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from bench.common.environment import step_env
from bench.common.machine import load_average
from bench.common.markdown import update_markdown
from bench.common.memory import kill_tree, tree_rss
from ingest.kinesis.client import KinesisEndpoint, kinesis_client
from ingest.kinesis.records import Entry, put_records
from ingest.kinesis.shards import ensure_stream
from ingest.paths import StatePaths, project_root
from ingest.report.readers import data_files
from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import ProjectSettings
from ingest.stream.produce import object_events

log = logging.getLogger("bench.stream")
STREAM = "bench-events"
SCHEMA, RAW_SCHEMA = "bench_stream", "bench_stream_raw"
Play = tuple[str, int, int]  # user id, session id, item in session


@dataclass(frozen=True)
class StreamBenchResult:
    """One run's figures (seconds, events per second, GiB)."""

    rate: float
    seconds: float
    every: float
    shards: int
    events_put: int
    plays_put: int
    plays_visible: int
    put_events_per_s: float
    visible_plays_per_s: float
    latency_p50: float
    latency_p95: float
    latency_max: float
    micro_batches: int
    peak_rss_gib: float
    load_average_start: float
    load_average_end: float
    commit: str
    when: str


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.stream",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="events per second (500)")
    parser.add_argument("--seconds", type=float, default=300.0, help="how long to put (300)")
    parser.add_argument("--every", default="10s", help="the stream's trigger interval (10s)")
    parser.add_argument("--shards", type=int, default=2, help="shards of the stream (2)")
    parser.add_argument("--poll", type=float, default=1.0, help="marts read interval (1 s)")
    parser.add_argument("--drain", type=float, default=300.0,
                        help="longest wait for the last plays after the last put (300 s)")
    parser.add_argument("--work", type=Path, default=None,
                        help="data and state (default <state>/bench/stream)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default <project>/bench/results)")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="update this file's stream section (e.g. BENCHMARKS.md)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    root = project_root()
    work = (args.work or StatePaths.of(ProjectSettings.read()).root / "bench" / "stream").resolve()
    every = float(args.every.removesuffix("s"))
    result = run(work, rate=args.rate, seconds=args.seconds, every=every, shards=args.shards,
                 poll=args.poll, drain=args.drain)
    out = args.out or root / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{result.when[:10]}-stream.json"
    path.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    print(markdown(result))
    log.info("figures in %s", path)
    if args.markdown:
        update_markdown(args.markdown, "stream", markdown(result))
    return 0 if result.plays_visible == result.plays_put else 1


def run(work: Path, *, rate: float, seconds: float, every: float, shards: int, poll: float,
        drain: float) -> StreamBenchResult:
    batch, events = prepare(work, events_needed=int(rate * seconds))
    state = work / "state"
    shutil.rmtree(state, ignore_errors=True)
    load_start = load_average()[0]
    with moto_server(work) as endpoint:
        env = step_env(state)
        env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench",
                    "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-west-2",
                    "SPARKIFY_SCHEMA": SCHEMA, "SPARKIFY_RAW_SCHEMA": RAW_SCHEMA})
        os.environ.update({key: env[key] for key in (
            "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")})
        log.info("staging and building the batch part (songs, first day)")
        subprocess.run([sys.executable, "-m", "ingest", "pipeline", "--source", str(batch)],
                       env=env, cwd=project_root(), check=True, stdout=subprocess.DEVNULL)
        client = kinesis_client(KinesisEndpoint(env["AWS_REGION"], endpoint))
        ensure_stream(client, STREAM, shards)
        stream_log = work / "stream.log"
        with stream_log.open("wb") as sink:
            stream = subprocess.Popen(
                [sys.executable, "-m", "ingest", "stream", "--stream", STREAM,
                 "--source", str(batch), "--every", f"{every:g}s"],
                env=env, cwd=project_root(), stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_for(stream_log, "streaming ", stream)
            table = StatePaths(state).warehouse / f"{SCHEMA}.db" / "fct_songplays"
            watcher = Watcher(table, stream, poll)
            watcher.start()
            put_times, events_put, put_seconds = put_events(client, events, rate, seconds)
            deadline = time.monotonic() + drain
            while (set(put_times) - watcher.seen.keys()) and time.monotonic() < deadline:
                watcher.check()
                time.sleep(poll)
            watcher.stop()
        finally:
            kill_tree(stream)
    latencies = sorted(watcher.seen[play] - put for play, put in put_times.items()
                       if play in watcher.seen)
    visible_span = (max(watcher.seen[p] for p in put_times if p in watcher.seen)
                    - min(put_times.values())) if latencies else 0.0
    return StreamBenchResult(
        rate=rate, seconds=seconds, every=every, shards=shards, events_put=events_put,
        plays_put=len(put_times), plays_visible=len(latencies),
        put_events_per_s=events_put / put_seconds,
        visible_plays_per_s=len(latencies) / visible_span if visible_span else 0.0,
        latency_p50=percentile(latencies, 0.50), latency_p95=percentile(latencies, 0.95),
        latency_max=latencies[-1] if latencies else 0.0,
        micro_batches=len(re.findall(r"micro-batch \d+: \d+ records",
                                     stream_log.read_text(errors="replace"))),
        peak_rss_gib=watcher.peak_rss / 2**30, load_average_start=load_start,
        load_average_end=load_average()[0], commit=_commit(),
        when=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


def prepare(work: Path, events_needed: int) -> tuple[Path, list[Entry]]:
    """A sample with enough events (generated once per size): the batch source (songs and
    its first day) and the other days' events as records, in the order `produce` sends."""
    days = 31
    per_day = max(300, events_needed // (days - 1) + 1)
    full = work / f"data-{per_day}"
    if not (full / "log_data").is_dir():
        shutil.rmtree(full, ignore_errors=True)
        log.info("generating %d days of %d events", days, per_day)
        generate(full, GenerateConfig(songs=2000, days=days, events_per_day=per_day, seed=7,
                                      known_song_share=0.5))
    logs = sorted((full / "log_data").rglob("*-events.json"))
    batch = work / "batch"
    if not batch.is_dir():
        shutil.copytree(full / "song_data", batch / "song_data")
        first = batch / logs[0].relative_to(full)
        first.parent.mkdir(parents=True)
        shutil.copy(logs[0], first)
    entries = [event.entry for path in logs[1:] for event in object_events(path.read_bytes())]
    return batch, entries[:events_needed]


def put_events(client: object, entries: list[Entry], rate: float,
               seconds: float) -> tuple[dict[Play, float], int, float]:
    """Put `entries` at `rate` per second (a call every 0.5 s) for at most `seconds`; when
    each play was accepted."""
    per_call = max(1, round(rate / 2))
    put_times: dict[Play, float] = {}
    started = time.monotonic()
    sent = 0
    for index in range(0, len(entries), per_call):
        due = started + index / rate
        if due - started > seconds:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        chunk = entries[index:index + per_call]
        put_records(client, STREAM, chunk)
        accepted = time.time()
        sent += len(chunk)
        for play in plays_of(chunk):
            put_times.setdefault(play, accepted)
        if sent % (per_call * 150) == 0:
            log.info("put %d events (%.0f events/s)", sent, sent / (time.monotonic() - started))
    return put_times, sent, time.monotonic() - started


def plays_of(entries: list[Entry]) -> Iterator[Play]:
    for entry in entries:
        value = orjson.loads(entry.data)
        if value.get("page") == "NextSong" and str(value.get("userId") or ""):
            yield (_user(value["userId"]), int(value["sessionId"]), int(value["itemInSession"]))


class Watcher(threading.Thread):
    """In the background, every `poll` seconds: when each play first shows in the fact
    table's parquet files (reading only files it has not read; plays there at the start are
    not ours), and the stream's peak RSS."""

    def __init__(self, table: Path, stream: subprocess.Popen[bytes] | None = None,
                 poll: float = 1.0) -> None:
        super().__init__(name="watcher", daemon=True)
        self.table, self.stream, self.poll = table, stream, poll
        self.seen: dict[Play, float] = {}
        self.peak_rss = 0
        self.problem: str | None = None
        self._files: set[tuple[Path, int]] = set()
        self._halt = threading.Event()
        self.baseline = self._new_plays()

    def look(self) -> None:
        now = time.time()
        for play in self._new_plays() - self.baseline:
            self.seen.setdefault(play, now)
        if self.stream is not None:
            if self.stream.poll() is not None:
                self.problem = f"the stream stopped (exit {self.stream.returncode})"
            else:
                self.peak_rss = max(self.peak_rss, tree_rss(self.stream.pid))

    def run(self) -> None:
        while not self._halt.wait(self.poll):
            try:
                self.look()
            except Exception as exc:  # a figure missed, not the run: say so, go on
                log.warning("watching %s: %s", self.table, exc)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def check(self) -> None:
        if self.problem:
            raise SystemExit(f"{self.problem}: see its log")

    def _new_plays(self) -> set[Play]:
        import pyarrow.parquet as pq

        plays: set[Play] = set()
        for path in data_files(self.table):
            try:
                key = (path, path.stat().st_mtime_ns)
                if key in self._files:
                    continue
                frame = pq.read_table(path, columns=["user_id", "session_id",
                                                     "item_in_session"]).to_pydict()
            except (OSError, ValueError):  # replaced while read: the next look reads it
                continue
            self._files.add(key)
            plays.update((_user(user), int(session), int(item)) for user, session, item in zip(
                frame["user_id"], frame["session_id"], frame["item_in_session"], strict=True))
        return plays


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(share * len(values)))]


def markdown(result: StreamBenchResult) -> str:
    return "\n".join([
        f"Streaming latency ({result.when}, commit {result.commit}): "
        f"`python -m bench.stream --rate {result.rate:g} --seconds {result.seconds:g} "
        f"--every {result.every:g}s --shards {result.shards}` (moto Kinesis on loopback, "
        f"embedded Spark; load average {result.load_average_start:.1f} at the start, "
        f"{result.load_average_end:.1f} at the end).",
        "",
        "| events put | put rate | plays put | plays visible | visible rate | "
        "latency p50 | p95 | max | micro-batches | peak RSS (stream) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {result.events_put:,} | {result.put_events_per_s:.0f}/s | {result.plays_put:,} | "
        f"{result.plays_visible:,} | {result.visible_plays_per_s:.0f}/s | "
        f"{result.latency_p50:.1f} s | {result.latency_p95:.1f} s | "
        f"{result.latency_max:.1f} s | {result.micro_batches} | "
        f"{result.peak_rss_gib:.2f} GiB |",
    ])


@contextmanager
def moto_server(work: Path) -> Iterator[str]:
    """`moto_server` on a free loopback port, in its own process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    binary = Path(sys.executable).with_name("moto_server")
    with (work / "moto.log").open("wb") as sink:
        server = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=sink, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield endpoint
    finally:
        kill_tree(server)


def wait_for(path: Path, text: str, process: subprocess.Popen[bytes],
             timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise SystemExit(f"the stream stopped (exit {process.returncode}): see {path}")
        time.sleep(0.5)
    raise SystemExit(f"the stream did not start within {timeout:g} s: see {path}")


def _user(value: object) -> str:
    text = str(value)
    return str(int(text)) if text.isdigit() else text


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project_root(),
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"

