"""`python -m bench`: time the pipeline against two baselines, per size.

Each size is generated once, with a fixed seed, into `<state>/bench/<size>/data`: 31 days of
logs. The first 30 days and the songs, hard-linked into `<state>/bench/<size>/source`, are
the full source; the 31st day arrives for the incremental run.

Each run starts from an empty state folder (its own Spark conf, warehouse and Derby
metastore; a throw-away database on Postgres; throw-away schemas on a Thrift Server) and
runs every step as its own process, as a user runs it, JVM start-up included:

1. `python -m ingest stage --target T --source <source>`;
2. `dbt build --target T` (docs excluded); per-node times from its run_results.json;
3. the 31st day lands in the source (the incremental run). On the spark target it arrives as
   in production: the build marker a scheduled cycle would have written after the full build
   is recorded, then one `python -m ingest run --once` stages and builds it in one process,
   its data tests scoped to the rebuilt days. Other targets stage and `dbt build` again;
4. nothing new (spark target): `python -m ingest run --once` (cold: its own process) and
   one scheduler process running two idle cycles, the second timed in-process (warm);
5. the baselines on the same 30 days: `bench/baseline_etl.py` (the textbook PySpark job,
   same Spark settings) and `bench/baseline_duckdb.py` (the same contract in plain DuckDB
   SQL), the latter again on the 31 days (its +1 day is a full rerun).

Every step records its wall time and the peak RSS of its whole process tree (sampled every
0.2 s). The row counts of the project's marts (read from the warehouse's parquet files) are
compared with the DuckDB baseline's, after the full run and after the +1 day. The results go
to `<out>/<date>-<size>.json` and `.png`, to a section of BENCHMARKS.md between
`<!-- bench:<size>:start -->` and `<!-- bench:<size>:end -->`, and to the table of targets
across sizes (`<!-- bench:targets:start -->`), from the latest results of each size.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.errors import IngestError
from ingest.paths import StatePaths, project_root

if TYPE_CHECKING:
    from ingest.sample.generate import GenerateConfig

log = logging.getLogger(__name__)

TARGETS = ("spark", "spark_thrift", "postgres")
FULL_STEPS = ("stage", "dbt_build")
INCREMENTAL_STEPS = ("stage_incremental", "dbt_build_incremental")
# the +1 day on the spark target: one scheduled cycle (`ingest run --once`), as it arrives in
# production; stage and build in one process, the data tests scoped to the rebuilt days
INCREMENTAL_CYCLE = "cycle_incremental"
BASELINE = "baseline"
DUCKDB = "duckdb"
DUCKDB_PLUS_DAY = "duckdb_plus_day"
IDLE_COLD = "idle_cold"
IDLE_WARM = "idle_warm"
# every run has these; the cycle and idle steps only on the spark target (`ingest run` is
# spark/postgres, and the marker the cycles need is the embedded Spark's), the other targets
# stage and build the +1 day by hand (INCREMENTAL_STEPS)
STEPS = (*FULL_STEPS, BASELINE, DUCKDB, DUCKDB_PLUS_DAY)
IDLE_STEPS = (IDLE_COLD, IDLE_WARM)
BUILD_STEPS = ("dbt_build", "dbt_build_incremental", INCREMENTAL_CYCLE)
SCOPED_TESTS_MESSAGE = "data tests of this build: the rebuilt days"
BASELINE_TABLES = ("artists", "songplays", "songs", "time", "users")
MART_TABLES = {"artists": "dim_artists", "songplays": "fct_songplays", "songs": "dim_songs",
               "time": "dim_time", "users": "dim_users"}
NOTHING_NEW_MESSAGE = "nothing new since the last successful build"
POLL_SECONDS = 0.2
GIB = 2**30
# The targets. None is asserted anywhere: they are reported against the figures.
TARGET_FULL_TO_DUCKDB = 3.0  # on M
TARGET_INCREMENTAL_TO_FULL = 0.10  # on M
TARGET_L_TO_M_INCREMENTAL = 1.2
TARGET_IDLE_COLD_SECONDS = 20.0
TARGET_IDLE_WARM_SECONDS = 5.0
TARGET_PEAK_GIB = 6.0  # at L
TARGET_THRIFT_BUILD_S_SECONDS = 20.0
TARGET_SIZES = ("S", "M", "L")


@dataclass(frozen=True)
class BenchSize:
    """One data-set size: `days` of logs for the full run, plus one day for the incremental."""

    name: str
    songs: int
    events_per_day: int
    days: int = 30
    seed: int = 7
    # extra `dbt build` arguments; only the tiny smoke size uses them (no dbt tests)
    dbt_build_args: tuple[str, ...] = ()
    note: str = ""

    def generate_config(self) -> GenerateConfig:
        from ingest.sample.generate import GenerateConfig

        return GenerateConfig(songs=self.songs, days=self.days + 1,
                              events_per_day=self.events_per_day, seed=self.seed)


SIZES: dict[str, BenchSize] = {
    "S": BenchSize("S", songs=71, events_per_day=270),
    "M": BenchSize("M", songs=15_000, events_per_day=30_000),
    "L": BenchSize("L", songs=100_000, events_per_day=200_000),
    # internal: tests/bench/test_bench_smoke.py and `make bench-smoke`; models and seed only
    "smoke": BenchSize("smoke", songs=20, events_per_day=100, days=3,
                       dbt_build_args=("--exclude-resource-type", "test", "unit_test"),
                       note="smoke size: dbt build without data tests and unit tests"),
}


@dataclass(frozen=True)
class Dataset:
    """The generated data of one size and the source folder built from it."""

    data: Path
    source: Path
    extra_day: Path
    song_files: int
    log_files: int
    events: int
    extra_day_events: int
    source_bytes: int

    @property
    def extra_day_key(self) -> Path:
        return self.extra_day.relative_to(self.data)


@dataclass(frozen=True)
class StepResult:
    seconds: float
    peak_rss_bytes: int


@dataclass(frozen=True)
class RowCounts:
    """Rows of the five tables and the plays matched to a song."""

    artists: int
    songplays: int
    songs: int
    time: int
    users: int
    matched_plays: int

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RowCounts:
        return cls(**{name: int(values[name]) for name in (*BASELINE_TABLES, "matched_plays")})


@dataclass(frozen=True)
class CountCheck:
    """The project's marts against the DuckDB baseline on the same days."""

    when: str
    project: RowCounts
    duckdb: RowCounts

    @property
    def same(self) -> bool:
        return self.project == self.duckdb


@dataclass(frozen=True)
class IdleCycles:
    """Nothing new: whether the cold cycle built, and the warm process's cycles."""

    cold_built: bool
    warm_seconds: tuple[float, ...]
    warm_built: tuple[bool, ...]

    @property
    def warm(self) -> float:
        """The last idle cycle of the one scheduler process, timed in-process."""
        return self.warm_seconds[-1]


@dataclass
class RunResult:
    """One run of every step, from a fresh state."""

    steps: dict[str, StepResult]
    dbt: dict[str, dict[str, Any]]
    baseline_tables: list[str]
    duckdb_tables: list[str]
    counts: list[CountCheck]
    idle: IdleCycles | None
    notes: list[str]


@dataclass
class TargetRun:
    """The environment of one run on one target, and what to add to its memory figure."""

    target: str
    env: dict[str, str]
    schema: str
    raw_schema: str
    server_pids: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)


# --- command line ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """`python -m bench --size S|M|L --target spark|spark_thrift|postgres [--runs N]`."""
    bench = argparse.ArgumentParser(
        prog="python -m bench",
        description="Generate a size once (fixed seed) under <state>/bench/<size>, then time "
                    "stage + dbt build, the one-more-day incremental run, a scheduled cycle "
                    "with nothing new (cold and warm), bench/baseline_etl.py (PySpark) and "
                    "bench/baseline_duckdb.py (DuckDB), each run from a fresh state, each "
                    "step its own process. Writes <out>/<date>-<size>.json and .png, the "
                    "size's section of BENCHMARKS.md and its table of targets across sizes.")
    bench.add_argument("--size", default=os.environ.get("SPARKIFY_BENCH_SIZE", "S"),
                       choices=list(SIZES),
                       help="S: 71 songs, ~8,000 events; M: 15,000 songs, ~900,000 events; "
                            "L: 100,000 songs, ~6,000,000 events (30 days each, +1 day); "
                            "smoke: a tiny set for the harness test")
    bench.add_argument("--target", default=os.environ.get("SPARKIFY_TARGET", "spark"),
                       choices=TARGETS,
                       help="spark_thrift needs a running Thrift Server "
                            "(SPARKIFY_THRIFT_HOST/PORT); postgres a local PostgreSQL")
    bench.add_argument("--runs", type=int,
                       default=int(os.environ.get("SPARKIFY_BENCH_RUNS") or 1),
                       help="runs per size (default 1; medians, min and max over the runs)")
    bench.add_argument("--out", type=Path, default=None,
                       help="results folder (default <project>/bench/results)")
    bench.add_argument("--markdown", type=Path, default=None,
                       help="the markdown file to update (default <project>/BENCHMARKS.md)")
    bench.add_argument("--work", type=Path, default=None,
                       help="data and run folders (default <state>/bench/<size>)")
    bench.add_argument("--keep-state", action="store_true",
                       help="keep each run's warehouse, landing and baseline output")
    bench.add_argument("--prepare-only", action="store_true",
                       help="generate the data set (once) and print its size; run nothing")
    bench.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    bench.set_defaults(handler=cmd_bench)
    return bench


def cmd_bench(args: argparse.Namespace) -> int:
    root = project_root()
    work = args.work or default_work_dir(args.size)
    if args.prepare_only:
        started = time.monotonic()
        data = prepare_data(SIZES[args.size], work)
        print(f"size {args.size}: {data.song_files:,} song files, {data.log_files} log files "
              f"({data.events:,} events in the source, {data.extra_day_events:,} on the extra "
              f"day), {data.source_bytes / 1e6:,.1f} MB in {data.source} "
              f"({time.monotonic() - started:.1f} s)")
        return 0
    run_bench(args.size, args.target, args.runs,
              out_dir=args.out or root / "bench" / "results",
              markdown=args.markdown or root / "BENCHMARKS.md",
              work=work, keep_state=args.keep_state)
    return 0


def default_work_dir(size: str) -> Path:
    return StatePaths.default().root / "bench" / size


# --- the data ----------------------------------------------------------------------------------


def prepare_data(size: BenchSize, work: Path) -> Dataset:
    """Generate the size once; (re)build the source: songs + the first `days` log files."""
    from ingest.sample.generate import generate

    config = size.generate_config()
    data = work / "data"
    marker = data / "_GENERATED_WITH.json"
    wanted = json.dumps({"size": size.name, **asdict(config)}, default=str, sort_keys=True)
    if not (marker.is_file() and marker.read_text(encoding="utf-8") == wanted):
        shutil.rmtree(data, ignore_errors=True)
        started = time.monotonic()
        log.info("generating size %s into %s (%d songs, %d days x %d events)", size.name,
                 data, config.songs, config.days, config.events_per_day)
        generate(data, config, progress=log.debug)
        marker.write_text(wanted, encoding="utf-8")
        log.info("generated size %s in %.0f s", size.name, time.monotonic() - started)
    logs = sorted((data / "log_data").rglob("*.json"))
    songs = sorted((data / "song_data").rglob("*.json"))
    if len(logs) != size.days + 1:
        raise IngestError(f"{data}: expected {size.days + 1} log files, found {len(logs)}: "
                          f"remove {marker} to regenerate")
    source = work / "source"
    shutil.rmtree(source, ignore_errors=True)
    folders: set[Path] = set()
    for path in [*songs, *logs[:-1]]:
        target = source / path.relative_to(data)
        if target.parent not in folders:  # 100,000 song files at L, in ~2,000 folders
            target.parent.mkdir(parents=True, exist_ok=True)
            folders.add(target.parent)
        _link(path, target, made=True)
    return Dataset(
        data=data, source=source, extra_day=logs[-1], song_files=len(songs),
        log_files=len(logs) - 1, events=sum(_count_events(path) for path in logs[:-1]),
        extra_day_events=_count_events(logs[-1]),
        source_bytes=sum(path.stat().st_size for path in [*songs, *logs[:-1]]),
    )


def _link(path: Path, target: Path, *, made: bool = False) -> None:
    """Hard-link `path` to `target` (a copy across file systems); `made`: its folder exists."""
    if not made:
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(path, target)
    except OSError:
        shutil.copy2(path, target)


def _count_events(path: Path) -> int:
    """Events of a log file: its non-blank lines."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


# --- measuring a step --------------------------------------------------------------------------


def measure(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_file: Path,
            extra_pids: Sequence[int] = (), poll: float = POLL_SECONDS) -> StepResult:
    """Run `command`; its wall time and the peak RSS summed over its process tree.

    `extra_pids` (a Thrift Server doing the step's work) are added to every sample.
    """
    import psutil

    with log_file.open("ab") as out:
        out.write(f"\n=== {dt.datetime.now(dt.UTC):%H:%M:%S} {' '.join(command)}\n".encode())
        out.flush()
        started = time.perf_counter()
        process = subprocess.Popen(list(command), env=dict(env), cwd=cwd, stdout=out,
                                   stderr=subprocess.STDOUT)
        peak = 0
        try:
            root = psutil.Process(process.pid)
            while True:
                peak = max(peak, _tree_rss(root, extra_pids))
                try:
                    process.wait(timeout=poll)
                    break
                except subprocess.TimeoutExpired:
                    continue
        except BaseException:
            _kill_tree(process)
            raise
        seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise IngestError(f"`{' '.join(command)}` failed (exit {process.returncode}):\n"
                          f"{_tail(log_file)}\n(whole log: {log_file})")
    return StepResult(seconds, peak)


def _tree_rss(root: Any, extra_pids: Sequence[int]) -> int:
    import psutil

    members = {root.pid: root}
    with contextlib.suppress(psutil.Error):
        members.update({child.pid: child for child in root.children(recursive=True)})
    for pid in extra_pids:
        with contextlib.suppress(psutil.Error):
            members.setdefault(pid, psutil.Process(pid))
    total = 0
    for member in members.values():
        with contextlib.suppress(psutil.Error):
            total += int(member.memory_info().rss)
    return total


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Stop a step this harness started, and the processes it started (the JVM)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    process.kill()
    process.wait()


def _tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    return "\n".join(f"  | {line}" for line in text[-lines:])


# --- targets -----------------------------------------------------------------------------------


def _base_env(state: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"SPARKIFY_STATE_DIR": str(state), "SPARK_CONF_DIR": str(state / "spark-conf"),
                "TZ": "UTC", "PYTHONUNBUFFERED": "1"})
    return env


def _write_spark_conf(env: Mapping[str, str]) -> None:
    """`python -m ingest spark-conf --dir $SPARK_CONF_DIR` for a fresh state (not timed)."""
    subprocess.run([sys.executable, "-m", "ingest", "spark-conf", "--dir", env["SPARK_CONF_DIR"]],
                   env=dict(env), check=True, capture_output=True)


@contextlib.contextmanager
def target_run(target: str, state: Path) -> Iterator[TargetRun]:
    """A fresh place to build into on `target`, removed afterwards (local state stays)."""
    env = _base_env(state)
    _write_spark_conf(env)
    tag = uuid.uuid4().hex[:8]
    if target == "spark":
        run = TargetRun(target, env, "bench", "bench_raw")
    elif target == "postgres":
        run = TargetRun(target, env, "bench", "bench_raw")
        env["SPARKIFY_PG_DATABASE"] = f"sparkify_bench_{tag}"
        run.notes.append("the pipeline builds on PostgreSQL, whose server processes are not "
                         "counted in the peak RSS; the baseline runs on the embedded Spark")
    elif target == "spark_thrift":
        host, port = thrift_address()
        run = TargetRun(target, env, f"bench_{tag}", f"bench_{tag}_raw",
                        server_pids=_listening_pids(host, port))
        run.notes.append(
            f"Thrift Server at {host}:{port}; " + (
                "its whole RSS (warm) is counted in every pipeline step" if run.server_pids
                else "not a local process, so its memory is not counted"))
    else:
        raise IngestError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    env.update({"SPARKIFY_TARGET": target, "SPARKIFY_SCHEMA": run.schema,
                "SPARKIFY_RAW_SCHEMA": run.raw_schema})
    if target == "postgres":
        _postgres_admin(f'create database "{env["SPARKIFY_PG_DATABASE"]}"')
    try:
        yield run
    finally:
        if target == "postgres":
            _postgres_admin(f'drop database if exists "{env["SPARKIFY_PG_DATABASE"]}" '
                            "with (force)")
        elif target == "spark_thrift":
            _drop_thrift_schemas(run)


def check_target(target: str) -> None:
    """Fail early, saying what to start, when the target's server does not answer."""
    if target == "spark_thrift":
        host, port = thrift_address()
        if not _port_answers(host, port):
            raise IngestError(
                f"no Spark Thrift Server answers on {host}:{port}: start one "
                "(`make spark-server`, or `python -m ingest spark-server start`), or point "
                "SPARKIFY_THRIFT_HOST / SPARKIFY_THRIFT_PORT at a running one")
    elif target == "postgres":
        try:
            _postgres_admin("select 1")
        except Exception as exc:
            raise IngestError(f"cannot reach PostgreSQL for --target postgres ({exc}); set "
                              "SPARKIFY_PG_HOST/PORT/USER and DBT_ENV_SECRET_PG_PASSWORD"
                              ) from exc


def thrift_address() -> tuple[str, int]:
    host = os.environ.get("SPARKIFY_THRIFT_HOST", "127.0.0.1")
    value = os.environ.get("SPARKIFY_THRIFT_PORT", "").strip() or "10000"
    try:
        return host, int(value)
    except ValueError:
        raise IngestError(f"SPARKIFY_THRIFT_PORT must be a number, not {value!r}") from None


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2.0):
            return True
    except OSError:
        return False


def _listening_pids(host: str, port: int) -> tuple[int, ...]:
    """The local processes listening on `port` (none when the server is remote)."""
    import psutil

    if host not in {"127.0.0.1", "localhost", "::1", socket.gethostname()}:
        return ()
    try:
        return tuple(sorted({conn.pid for conn in psutil.net_connections(kind="tcp")
                             if conn.pid and conn.status == psutil.CONN_LISTEN
                             and conn.laddr and conn.laddr.port == port}))
    except psutil.Error:
        return ()


def _drop_thrift_schemas(run: TargetRun) -> None:
    from pyhive import hive

    host, port = thrift_address()
    user = os.environ.get("SPARKIFY_THRIFT_USER") or os.environ.get("USER") or "dbt"
    schemas = [run.raw_schema, *(f"{run.schema}{suffix}" for suffix in
                                 ("", "_staging", "_intermediate", "_reference"))]
    try:
        connection = hive.connect(host=host, port=port, username=user)
    except Exception as exc:  # the run's result stands; say what is left behind
        log.warning("could not drop the bench schemas %s on %s:%d: %s", schemas, host, port, exc)
        return
    try:
        cursor = connection.cursor()
        for schema in schemas:
            cursor.execute(f"drop database if exists `{schema}` cascade")
    finally:
        connection.close()


def _postgres_admin(sql: str) -> None:
    """One statement on the server's `postgres` database, autocommit."""
    from ingest.stage.warehouse import ConnectionSettings, connect

    settings = ConnectionSettings.from_env("postgres")
    admin = ConnectionSettings("postgres", settings.host, settings.port, settings.user,
                               "postgres", settings.password)
    connection = connect(admin)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


# --- one run -----------------------------------------------------------------------------------


def run_once(size: BenchSize, data: Dataset, target: str, run_dir: Path,
             keep_state: bool = False) -> RunResult:
    """One full + incremental + idle pipeline run and the baselines, each from scratch."""
    project = project_root()
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    log_file = run_dir / "steps.log"
    python = sys.executable
    steps: dict[str, StepResult] = {}
    dbt_runs: dict[str, dict[str, Any]] = {}
    project_counts: dict[str, RowCounts | None] = {}
    idle: IdleCycles | None = None
    incoming = data.source / data.extra_day_key
    with target_run(target, run_dir / "state") as run:
        stage = [python, "-m", "ingest", "stage", "--target", target,
                 "--source", str(data.source)]
        build = [dbt_executable(), "build", "--project-dir", str(project),
                 "--profiles-dir", str(project / "profiles"), "--target", target,
                 "--target-path", str(run_dir / "target"), "--log-path", str(run_dir / "logs"),
                 *size.dbt_build_args]

        def step(name: str, command: list[str], step_log: Path = log_file,
                 env: Mapping[str, str] = run.env) -> None:
            log.info("  %s ...", name)
            steps[name] = measure(command, env=env, cwd=project, log_file=step_log,
                                  extra_pids=run.server_pids)
            if name in BUILD_STEPS:
                results = run_dir / "target" / "run_results.json"
                shutil.copy2(results, run_dir / f"run_results-{name}.json")
                dbt_runs[name] = dbt_nodes(results)
            log.info("  %s: %.1f s, peak %.2f GiB", name, steps[name].seconds,
                     steps[name].peak_rss_bytes / GIB)

        step("stage", stage)
        step("dbt_build", build)
        project_counts["full"] = mart_counts(run, run_dir / "state")
        _link(data.extra_day, incoming)
        try:
            if target == "spark":
                _cycle_step(run, data.source, run_dir, step)
            else:
                step("stage_incremental", stage)
                step("dbt_build_incremental", build)
            project_counts["plus_day"] = mart_counts(run, run_dir / "state")
            if target == "spark":
                idle = _idle_steps(run, data.source, run_dir, step)
            else:
                run.notes.append(f"no nothing-new steps on {target} (`ingest run` cycles "
                                 "stage on the embedded Spark or on PostgreSQL); its +1 day "
                                 "is a stage and a `dbt build` by hand, all data tests")
        finally:
            incoming.unlink(missing_ok=True)
    baseline_env = _base_env(run_dir / "baseline" / "state")
    _write_spark_conf(baseline_env)
    out = run_dir / "baseline" / "out"

    def baseline_step(name: str, command: list[str]) -> None:
        log.info("  %s ...", name)
        steps[name] = measure(command, env=baseline_env, cwd=project, log_file=log_file)
        log.info("  %s: %.1f s, peak %.2f GiB", name, steps[name].seconds,
                 steps[name].peak_rss_bytes / GIB)

    baseline_step(BASELINE, [python, str(project / "bench" / "baseline_etl.py"),
                             "--input", str(data.source), "--output", str(out)])
    tables = sorted(path.name for path in out.iterdir() if path.is_dir())
    duckdb_out = run_dir / "baseline" / "duckdb"
    duckdb_counts: dict[str, RowCounts] = {}
    for name in (DUCKDB, DUCKDB_PLUS_DAY):
        counts_file = run_dir / f"counts-{name}.json"
        command = [python, str(project / "bench" / "baseline_duckdb.py"), "--input",
                   str(data.source), "--output", str(duckdb_out), "--counts", str(counts_file)]
        if name == DUCKDB_PLUS_DAY:
            _link(data.extra_day, incoming)
        try:
            baseline_step(name, command)
        finally:
            incoming.unlink(missing_ok=True)
        duckdb_counts[name] = RowCounts.from_mapping(
            json.loads(counts_file.read_text(encoding="utf-8")))
    duckdb_tables = sorted(path.stem for path in duckdb_out.glob("*.parquet"))
    checks = [CountCheck(when, found, duckdb_counts[name])
              for when, name in (("full", DUCKDB), ("plus_day", DUCKDB_PLUS_DAY))
              if (found := project_counts.get(when)) is not None]
    for check in checks:
        log.info("  row counts after the %s run: %s", check.when,
                 "project = DuckDB baseline" if check.same else
                 f"DIFFER: project {check.project}, DuckDB {check.duckdb}")
    if not keep_state:
        for folder in (run_dir / "state" / "landing", run_dir / "state" / "spark",
                       run_dir / "baseline", run_dir / "target"):
            shutil.rmtree(folder, ignore_errors=True)
    return RunResult(steps=steps, dbt=dbt_runs, baseline_tables=tables,
                     duckdb_tables=duckdb_tables, counts=checks, idle=idle, notes=run.notes)


StepRunner = Callable[..., None]


def _cycle_names(run: TargetRun, source: Path) -> list[str]:
    return ["--target", "spark", "--source", str(source), "--raw-schema", run.raw_schema,
            "--schema", run.schema]


def _cycle_step(run: TargetRun, source: Path, run_dir: Path, step: StepRunner) -> None:
    """The +1 day as a scheduled cycle: `ingest run --once` stages and builds it.

    The full run was a stage and a `dbt build` by hand, so the build marker a cycle writes
    after a successful build is recorded first (that build just succeeded on everything
    staged, which is what the marker says): the cycle then knows its data tests need look
    only at the days it rebuilt. dbt's run_results.json goes where the bench reads it.
    """
    from ingest.run.builds import BuildMarker, spark_target

    state = StatePaths(Path(run.env["SPARKIFY_STATE_DIR"]).resolve())
    BuildMarker.of(state, spark_target(state), run.raw_schema, run.schema).record_built()
    env = {**run.env, "DBT_TARGET_PATH": str(run_dir / "target"),
           "DBT_LOG_PATH": str(run_dir / "logs")}
    cycle_log = run_dir / f"{INCREMENTAL_CYCLE}.log"
    step(INCREMENTAL_CYCLE, [sys.executable, "-m", "ingest", "run", "--once",
                             *_cycle_names(run, source)], cycle_log, env)
    if SCOPED_TESTS_MESSAGE not in cycle_log.read_text(encoding="utf-8", errors="replace"):
        run.notes.append("the +1 day cycle ran the full data test suite, not the rebuilt "
                         f"days only (see {cycle_log.name})")
        log.warning("the +1 day cycle did not scope its data tests (see %s)", cycle_log)


def _idle_steps(run: TargetRun, source: Path, run_dir: Path, step: StepRunner) -> IdleCycles:
    """Nothing new, cold (`ingest run --once`, its own process) and warm (the second idle
    cycle of one scheduler process, timed in-process), after the +1 day's cycle."""
    python = sys.executable
    names = _cycle_names(run, source)
    cold_log = run_dir / f"{IDLE_COLD}.log"
    step(IDLE_COLD, [python, "-m", "ingest", "run", "--once", *names], cold_log)
    cold_text = cold_log.read_text(encoding="utf-8", errors="replace")
    cold_built = NOTHING_NEW_MESSAGE not in cold_text
    warm_out = run_dir / f"{IDLE_WARM}.json"
    step(IDLE_WARM, [python, "-m", "bench.harness", "idle-cycles", "--cycles", "2",
                     "--out", str(warm_out), *names], run_dir / f"{IDLE_WARM}.log")
    warm = json.loads(warm_out.read_text(encoding="utf-8"))
    idle = IdleCycles(cold_built=cold_built,
                      warm_seconds=tuple(float(value) for value in warm["seconds"]),
                      warm_built=tuple(bool(value) for value in warm["built"]))
    if idle.cold_built or any(idle.warm_built):
        log.warning("a nothing-new cycle ran dbt build (see %s and %s)", cold_log, warm_out)
    else:
        log.info("  nothing new: no dbt build; the warm cycle took %.2f s in-process",
                 idle.warm)
    return idle


def mart_counts(run: TargetRun, state: Path) -> RowCounts | None:
    """Rows of the marts, read from the embedded Spark warehouse's parquet files by DuckDB
    (no JVM); None on the other targets."""
    if run.target != "spark":
        return None
    import duckdb

    schema_dir = StatePaths(state.resolve()).warehouse / f"{run.schema}.db"
    connection = duckdb.connect()
    try:
        def scalar(sql: str, table: str) -> int:
            files = (schema_dir / table / "**" / "*.parquet").as_posix().replace("'", "''")
            row = connection.execute(
                sql.format(files=f"read_parquet('{files}', hive_partitioning = false)")
            ).fetchone()
            return int(row[0]) if row else 0

        counts = {name: scalar("select count(*) from {files}", table)
                  for name, table in MART_TABLES.items()}
        counts["matched_plays"] = scalar("select count(song_id) from {files}",
                                         "fct_songplays")
    finally:
        connection.close()
    return RowCounts.from_mapping(counts)


def dbt_executable() -> str:
    beside = Path(sys.executable).with_name("dbt")
    found = str(beside) if beside.is_file() else shutil.which("dbt")
    if not found:
        raise IngestError("dbt is not installed in this environment (make setup)")
    return found


def dbt_nodes(run_results: Path) -> dict[str, Any]:
    """The run phase's elapsed seconds and each node's type, status and execution time."""
    results = json.loads(run_results.read_text(encoding="utf-8"))
    nodes = {}
    for item in results["results"]:
        unique_id = str(item["unique_id"])
        kind, _package, name = unique_id.split(".", 2)
        nodes[unique_id] = {"type": kind, "name": name, "status": str(item["status"]),
                            "seconds": float(item["execution_time"])}
    return {"elapsed_seconds": float(results["elapsed_time"]), "nodes": nodes}


# --- summary -----------------------------------------------------------------------------------


def _stats(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(runs: Sequence[RunResult], data: Dataset) -> dict[str, Any]:
    """Median, min and max of every step and dbt node; totals, ratios, memory, throughput."""
    def seconds(run: RunResult, names: Sequence[str]) -> float:
        return float(sum(run.steps[name].seconds for name in names))

    every = (*STEPS, *INCREMENTAL_STEPS, INCREMENTAL_CYCLE, *IDLE_STEPS)
    present = [name for name in every if all(name in run.steps for run in runs)]
    steps = {name: _stats([seconds(run, (name,)) for run in runs]) for name in present}
    peaks = {name: max(run.steps[name].peak_rss_bytes for run in runs) for name in present}
    full = _stats([seconds(run, FULL_STEPS) for run in runs])
    plus_day = incremental_steps(steps)
    incremental = _stats([seconds(run, plus_day) for run in runs])
    baseline, duckdb = steps[BASELINE], steps[DUCKDB]
    idles = [run.idle for run in runs if run.idle is not None]
    return {
        "steps": steps,
        "peak_rss_bytes": peaks,
        "full": full,
        "incremental": incremental,
        "baseline": baseline,
        "duckdb": duckdb,
        "full_to_baseline": full["median"] / baseline["median"],
        "full_to_duckdb": full["median"] / duckdb["median"],
        "incremental_to_full": incremental["median"] / full["median"],
        "idle": None if not idles else {
            "cold": steps[IDLE_COLD],
            "warm": _stats([idle.warm for idle in idles]),
            "built": any(idle.cold_built or any(idle.warm_built) for idle in idles),
        },
        "counts_match": all(check.same for run in runs for check in run.counts),
        "peak_rss_pipeline_bytes": max(peaks[name] for name in (*FULL_STEPS, *plus_day)),
        "events": data.events,
        "extra_day_events": data.extra_day_events,
        "events_per_second": {
            "full": data.events / full["median"],
            "baseline": data.events / baseline["median"],
            "duckdb": data.events / duckdb["median"],
            "incremental": data.extra_day_events / incremental["median"],
        },
        "dbt": {name: _summarize_build(runs, name) for name in BUILD_STEPS if name in steps},
    }


def incremental_steps(steps: Mapping[str, Any]) -> tuple[str, ...]:
    """The +1 day's steps: one scheduled cycle (spark), else a stage and a build by hand."""
    return (INCREMENTAL_CYCLE,) if INCREMENTAL_CYCLE in steps else INCREMENTAL_STEPS


def incremental_build(steps: Mapping[str, Any]) -> str:
    """The step whose run_results.json is the +1 day's dbt build."""
    return incremental_steps(steps)[-1]


def _summarize_build(runs: Sequence[RunResult], step: str) -> dict[str, Any]:
    """Per model and seed (exposures take no time); data tests and unit tests summed; the
    time outside the run phase (start-up, parsing)."""
    per_node: dict[str, list[float]] = {}
    sums: dict[str, list[float]] = {"test": [], "unit_test": []}
    counts: dict[str, int] = {}
    outside: list[float] = []
    for run in runs:
        build = run.dbt[step]
        totals = dict.fromkeys(sums, 0.0)
        for node in build["nodes"].values():
            if node["type"] in sums:
                totals[node["type"]] += node["seconds"]
            elif node["type"] in {"model", "seed", "snapshot"}:
                per_node.setdefault(f"{node['type']}:{node['name']}", []).append(node["seconds"])
        for kind, total in totals.items():
            sums[kind].append(total)
        counts = {kind: sum(1 for node in build["nodes"].values() if node["type"] == kind)
                  for kind in ("model", "seed", "test", "unit_test")}
        outside.append(run.steps[step].seconds - build["elapsed_seconds"])
    ordered = sorted(per_node.items(), key=lambda item: -statistics.median(item[1]))
    return {
        "nodes": {name: _stats(values) for name, values in ordered},
        "tests": _stats(sums["test"]),
        "unit_tests": _stats(sums["unit_test"]),
        "counts": counts,
        "outside_run": _stats(outside),
        "run_phase": _stats([run.dbt[step]["elapsed_seconds"] for run in runs]),
    }


def machine() -> dict[str, Any]:
    """CPU, memory, OS and the versions that shape the figures."""
    from importlib.metadata import PackageNotFoundError, version

    import psutil

    from ingest.spark import conf as spark_conf

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    os_name = platform.platform()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.release()})"
    try:
        java_text = subprocess.run(["java", "-version"], capture_output=True, text=True,
                                   timeout=30, check=False).stderr
        java = java_text.splitlines()[0] if java_text else "unknown"
    except OSError:
        java = "not found"
    versions = {}
    for package in ("pyspark", "dbt-core", "dbt-spark", "dbt-postgres", "psycopg2-binary"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": cpu, "logical_cpus": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_gib": round(psutil.virtual_memory().total / GIB, 1), "os": os_name,
        "python": platform.python_version(), "java": java, "versions": versions,
        "spark_driver_memory": spark_conf.DRIVER_MEMORY,
        "spark_shuffle_partitions": spark_conf.SHUFFLE_PARTITIONS,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "git_commit": _git_commit(),
    }


def _git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project_root(),
                              capture_output=True, text=True, timeout=10, check=True)
        # the harness's own outputs (an earlier size of the same `make bench`) do not count
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":(exclude)BENCHMARKS.md", ":(exclude)bench/results"],
                               cwd=project_root(), capture_output=True, text=True, timeout=10,
                               check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


# --- the benchmark -----------------------------------------------------------------------------


def run_bench(size_name: str, target: str = "spark", runs: int = 1, *, out_dir: Path,
              markdown: Path, work: Path | None = None,
              keep_state: bool = False) -> dict[str, Any]:
    """Prepare the size, run it `runs` times, write the JSON, the chart and the markdown."""
    if size_name not in SIZES:
        raise IngestError(f"unknown size {size_name!r}: use one of {', '.join(SIZES)}")
    if target not in TARGETS:
        raise IngestError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    if runs < 1:
        raise IngestError("--runs must be at least 1")
    size = SIZES[size_name]
    work = work or default_work_dir(size_name)
    check_target(target)
    with _exclusive(work):
        host = machine()
        started = dt.datetime.now(dt.UTC)
        data = prepare_data(size, work)
        log.info("bench %s on %s: %s song files, %s events in %d days (+%s on day %d), "
                 "%d run(s)", size.name, target, f"{data.song_files:,}", f"{data.events:,}",
                 size.days, f"{data.extra_day_events:,}", size.days + 1, runs)
        results: list[RunResult] = []
        for number in range(1, runs + 1):
            log.info("run %d of %d", number, runs)
            results.append(run_once(size, data, target, work / "runs" / f"{target}-{number}",
                                    keep_state))
    host["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    config = size.generate_config()
    result: dict[str, Any] = {
        "size": size.name, "target": target, "date": started.date().isoformat(),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": {**asdict(size), "generate": asdict(config)},
        "data": {"song_files": data.song_files, "log_files": data.log_files,
                 "events": data.events, "extra_day_events": data.extra_day_events,
                 "source_bytes": data.source_bytes},
        "machine": host, "runs": [asdict(run) for run in results],
        "summary": summarize(results, data),
    }
    json_path, chart = write_outputs(result, out_dir, markdown)
    if target == "spark":
        update_markdown(markdown, "targets", targets_section(latest_figures(out_dir)))
    summary = result["summary"]
    log.info("bench %s on %s: full pipeline %.1f s; PySpark baseline %.1f s (ratio %.2f), "
             "DuckDB baseline %.1f s (ratio %.2f); incremental %.1f s (%.0f%% of full), "
             "peak %.2f GiB; wrote %s, %s and %s",
             size.name, target, summary["full"]["median"], summary["baseline"]["median"],
             summary["full_to_baseline"], summary["duckdb"]["median"],
             summary["full_to_duckdb"], summary["incremental"]["median"],
             100 * summary["incremental_to_full"], summary["peak_rss_pipeline_bytes"] / GIB,
             json_path, chart, markdown)
    return result


@contextlib.contextmanager
def _exclusive(work: Path) -> Iterator[None]:
    """One bench at a time per size folder: two would rebuild each other's source."""
    work.mkdir(parents=True, exist_ok=True)
    with (work / ".lock").open("a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestError(f"another bench is running on {work}") from None
        yield


# --- outputs -----------------------------------------------------------------------------------


def result_label(result: Mapping[str, Any]) -> str:
    """`M` for the spark target, `M-postgres` for others: file names and markdown markers."""
    return str(result["size"]) if result["target"] == "spark" else (
        f"{result['size']}-{result['target']}")


def write_outputs(result: Mapping[str, Any], out_dir: Path,
                  markdown: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{result['date']}-{result_label(result)}"
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    chart = out_dir / f"{stem}.png"
    write_chart(result, chart)
    update_markdown(markdown, result_label(result), markdown_section(result, chart, markdown))
    return json_path, chart


def write_chart(result: Mapping[str, Any], path: Path) -> None:
    """Left: full run, incremental run and baseline by step; right: the dbt build by node."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    summary = result["summary"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5),
                                         gridspec_kw={"width_ratios": [1.4, 1.5]})
    colors = {"stage": "#4C72B0", "dbt build": "#DD8452", "ingest run --once": "#8172B3",
              "PySpark job": "#55A868", "DuckDB job": "#937860"}
    plus_day = ((INCREMENTAL_CYCLE, "ingest run --once"),) \
        if INCREMENTAL_CYCLE in summary["steps"] \
        else (("stage_incremental", "stage"), ("dbt_build_incremental", "dbt build"))
    bars: list[tuple[str, tuple[tuple[str, str], ...]]] = [
        ("full run", (("stage", "stage"), ("dbt_build", "dbt build"))),
        ("+1 day", plus_day),
    ]
    if IDLE_COLD in summary["steps"]:
        bars.append(("nothing new\n(cold)", ((IDLE_COLD, "ingest run --once"),)))
    bars += [("PySpark\nbaseline", ((BASELINE, "PySpark job"),)),
             ("DuckDB\nbaseline", ((DUCKDB, "DuckDB job"),)),
             ("DuckDB\n31 days", ((DUCKDB_PLUS_DAY, "DuckDB job"),))]
    seen: set[str] = set()
    for x, (_label, parts) in enumerate(bars):
        bottom = 0.0
        for step, kind in parts:
            value = float(summary["steps"][step]["median"])
            left.bar(x, value, bottom=bottom, color=colors[kind], width=0.6,
                     label=None if kind in seen else kind)
            seen.add(kind)
            bottom += value
        left.text(x, bottom, f"{bottom:.1f} s" if bottom < 10 else f"{bottom:.0f} s",
                  ha="center", va="bottom", fontsize=9)
    left.set_xticks(range(len(bars)), [label for label, _parts in bars], fontsize=8)
    left.set_ylabel("seconds (median)")
    left.set_title("by step")
    left.legend(fontsize=8)

    names, full, extra = _build_breakdown(summary)
    positions = range(len(names))
    right.barh([p - 0.2 for p in positions], full, height=0.4, color="#DD8452", label="full run")
    right.barh([p + 0.2 for p in positions], extra, height=0.4, color="#C44E52",
               label="+1 day")
    right.set_yticks(list(positions), names, fontsize=8)
    right.invert_yaxis()
    right.set_xlabel("seconds (median; dbt runs nodes in parallel threads, so they overlap)")
    right.set_title("dbt build by node")
    right.legend(fontsize=8)
    figure.suptitle(f"sparkify bench {result['size']} on {result['target']}: "
                    f"{summary['events']:,} events, {len(result['runs'])} run(s), "
                    f"{result['date']}", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _build_breakdown(summary: Mapping[str, Any]) -> tuple[list[str], list[float], list[float]]:
    """Rows of the per-node view: models and seed, test sums, the time outside the run."""
    full = summary["dbt"]["dbt_build"]
    extra = summary["dbt"][incremental_build(summary["steps"])]
    names = list(full["nodes"])
    keys: list[tuple[str, str | None]] = [("nodes", name) for name in full["nodes"]]
    for kind, section, label in (("test", "tests", "data tests (sum)"),
                                 ("unit_test", "unit_tests", "unit tests (sum)")):
        if full["counts"].get(kind):
            names.append(label)
            keys.append((section, None))
    names.append("outside the run phase")
    keys.append(("outside_run", None))

    def value(build: Mapping[str, Any], key: tuple[str, str | None]) -> float:
        section, name = key
        entry = build[section].get(name) if name else build[section]
        return float(entry["median"]) if entry else 0.0

    return ([name.split(":", 1)[-1] for name in names], [value(full, key) for key in keys],
            [value(extra, key) for key in keys])


def _cell(values: Mapping[str, float]) -> str:
    return f"{values['median']:.1f} | {values['min']:.1f} | {values['max']:.1f}"


def _verdict(value: float, limit: float, applies: bool = True) -> str:
    if not applies:
        return "n/a here"
    return "met" if value <= limit else "not met"


def _counts_lines(result: Mapping[str, Any]) -> list[str]:
    """The project's marts against the DuckDB baseline, row for row count, per run."""
    checks = [(number, CountCheck(item["when"], RowCounts.from_mapping(item["project"]),
                                  RowCounts.from_mapping(item["duckdb"])))
              for number, run in enumerate(result["runs"], 1) for item in run.get("counts", [])]
    if not checks:
        return ["Row counts: not compared on this target (the DuckDB baseline's are in the "
                "JSON)."]
    same = all(check.same for _n, check in checks)
    names = (*BASELINE_TABLES, "matched_plays")
    lines = [
        "Row counts, the project's marts against the DuckDB baseline on the same days "
        f"({'the same in every run' if same else 'DIFFERENT: see below'}):",
        "",
        "| after | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for number, check in checks:
        label = {"full": "full run (30 days)", "plus_day": "+1 day (31 days)"}[check.when]
        cells = []
        for name in names:
            mine, theirs = getattr(check.project, name), getattr(check.duckdb, name)
            cells.append(f"{mine:,}" if mine == theirs else f"**{mine:,} vs {theirs:,}**")
        run_label = f", run {number}" if len(result["runs"]) > 1 else ""
        lines.append(f"| {label}{run_label} | " + " | ".join(cells) + " |")
    return lines


def markdown_section(result: Mapping[str, Any], chart: Path, markdown: Path) -> str:
    """The section of one size and target: steps, ratios against the targets, dbt nodes."""
    summary = result["summary"]
    size, target = str(result["size"]), str(result["target"])
    steps, peaks = summary["steps"], summary["peak_rss_bytes"]
    rate = summary["events_per_second"]
    data, host = result["data"], result["machine"]
    runs = len(result["runs"])
    versions = host["versions"]

    def gib(value: float) -> str:
        return f"{value / GIB:.2f}"

    def total_peak(names: Sequence[str]) -> str:
        return gib(max(peaks[name] for name in names))

    lines = [
        f"### {size} on {target}: {data['song_files']:,} song files, "
        f"{result['config']['days']} days + 1 ({data['events']:,} events + "
        f"{data['extra_day_events']:,}), {runs} run{'s' if runs > 1 else ''}, {result['date']}",
        "",
    ]
    if result["config"].get("note"):
        lines += [f"_{result['config']['note']}._", ""]
    idle = summary.get("idle")
    lines += [
        "| step | median s | min s | max s | peak RSS GiB | events/s |",
        "|---|---:|---:|---:|---:|---:|",
        f"| **full pipeline** (stage + dbt build) | {_cell(summary['full'])} | "
        f"{total_peak(FULL_STEPS)} | {rate['full']:,.0f} |",
        f"| &nbsp;&nbsp;stage | {_cell(steps['stage'])} | {gib(peaks['stage'])} | |",
        f"| &nbsp;&nbsp;dbt build | {_cell(steps['dbt_build'])} | {gib(peaks['dbt_build'])} | |",
    ]
    plus_day = incremental_steps(steps)
    extra_build = incremental_build(steps)
    extra = summary["dbt"][extra_build]
    if plus_day == (INCREMENTAL_CYCLE,):
        lines += [
            f"| **incremental, +1 day** (one scheduled cycle, `ingest run --once`: stage + "
            f"dbt build, data tests on the rebuilt day) | {_cell(summary['incremental'])} | "
            f"{total_peak(plus_day)} | {rate['incremental']:,.0f} |",
            f"| &nbsp;&nbsp;dbt's run phase (run_results.json) | "
            f"{extra['run_phase']['median']:.1f} | {extra['run_phase']['min']:.1f} | "
            f"{extra['run_phase']['max']:.1f} | | |",
            f"| &nbsp;&nbsp;the rest: start-up, stage, dbt parsing | "
            f"{_cell(extra['outside_run'])} | | |",
        ]
    else:
        lines += [
            f"| **incremental, +1 day** (stage + dbt build) | {_cell(summary['incremental'])} | "
            f"{total_peak(plus_day)} | {rate['incremental']:,.0f} |",
            f"| &nbsp;&nbsp;stage | {_cell(steps['stage_incremental'])} | "
            f"{gib(peaks['stage_incremental'])} | |",
            f"| &nbsp;&nbsp;dbt build | {_cell(steps['dbt_build_incremental'])} | "
            f"{gib(peaks['dbt_build_incremental'])} | |",
        ]
    if idle:
        lines += [
            f"| **nothing new, cold** (`ingest run --once`, its own process) | "
            f"{_cell(idle['cold'])} | {gib(peaks[IDLE_COLD])} | |",
            f"| **nothing new, warm** (2nd idle cycle of one `ingest run` process) | "
            f"{_cell(idle['warm'])} | {gib(peaks[IDLE_WARM])} | |",
        ]
    lines += [
        f"| **PySpark baseline** (bench/baseline_etl.py) | {_cell(steps[BASELINE])} | "
        f"{gib(peaks[BASELINE])} | {rate['baseline']:,.0f} |",
        f"| **DuckDB baseline** (bench/baseline_duckdb.py) | {_cell(steps[DUCKDB])} | "
        f"{gib(peaks[DUCKDB])} | {rate['duckdb']:,.0f} |",
        f"| &nbsp;&nbsp;DuckDB baseline on 31 days (its +1 day: a full rerun) | "
        f"{_cell(steps[DUCKDB_PLUS_DAY])} | {gib(peaks[DUCKDB_PLUS_DAY])} | |",
        "",
        "| measure (medians) | value | target | |",
        "|---|---:|---|---|",
        f"| full pipeline / DuckDB baseline | {summary['full_to_duckdb']:.2f} | ≤ 3 on M | "
        f"{_verdict(summary['full_to_duckdb'], TARGET_FULL_TO_DUCKDB, size == 'M')} |",
        f"| full pipeline / PySpark baseline | {summary['full_to_baseline']:.2f} | | |",
        f"| incremental / full | {summary['incremental_to_full']:.2f} | ≤ 0.10 on M | "
        f"{_verdict(summary['incremental_to_full'], TARGET_INCREMENTAL_TO_FULL, size == 'M')} |",
    ]
    if idle:
        cold, warm = idle["cold"]["median"], idle["warm"]["median"]
        lines += [
            f"| nothing new, cold | {cold:.1f} s | ≤ 20 s | "
            f"{_verdict(cold, TARGET_IDLE_COLD_SECONDS)} |",
            f"| nothing new, warm | {warm:.2f} s | ≤ 5 s | "
            f"{_verdict(warm, TARGET_IDLE_WARM_SECONDS)} |",
        ]
    peak = summary["peak_rss_pipeline_bytes"]
    lines.append(f"| peak memory, pipeline steps | {gib(peak)} GiB | ≤ 6 GiB at L | "
                 f"{_verdict(peak / GIB, TARGET_PEAK_GIB, size == 'L')} |")
    if target == "spark_thrift":
        build = steps["dbt_build"]["median"]
        lines.append(f"| dbt build on a warm Thrift Server | {build:.1f} s | ≤ 20 s on S | "
                     f"{_verdict(build, TARGET_THRIFT_BUILD_S_SECONDS, size == 'S')} |")
    lines += ["", *_counts_lines(result)]
    full = summary["dbt"]["dbt_build"]
    counts = full["counts"]
    cycle_note = (" (+1 day: the rest of the cycle, its stage included)"
                  if extra_build == INCREMENTAL_CYCLE else "")
    lines += [
        "",
        "dbt build by node, median seconds (dbt runs several nodes at once, so node times overlap; "
        "\"outside the run phase\" is dbt's start-up and parsing; the embedded Spark's JVM "
        "starts inside the run phase, with the first node):",
        "",
        "| node | full | +1 day |",
        "|---|---:|---:|",
        *(f"| {name.replace(':', ' ', 1)} | {values['median']:.1f} | "
          f"{extra['nodes'][name]['median'] if name in extra['nodes'] else 0.0:.1f} |"
          for name, values in full["nodes"].items()),
        *(f"| {counts[kind]} {label} (sum) | {full[section]['median']:.1f} | "
          f"{extra[section]['median']:.1f} |"
          for kind, section, label in (("test", "tests", "data tests"),
                                       ("unit_test", "unit_tests", "unit tests"))
          if counts.get(kind)),
        f"| outside the run phase{cycle_note} | "
        f"{full['outside_run']['median']:.1f} | {extra['outside_run']['median']:.1f} |",
        f"| **wall time** | **{steps['dbt_build']['median']:.1f}** | "
        f"**{steps[extra_build]['median']:.1f}** |",
        "",
        f"![{size} on {target}: time by step and by dbt node]"
        f"({Path(os.path.relpath(chart, markdown.parent)).as_posix()})",
        "",
        f"Machine: {host['cpu']}, {host['logical_cpus']} CPUs, {host['ram_gib']} GiB RAM, "
        f"{host['os']}; Python {host['python']}, {host['java']}, pyspark "
        f"{versions['pyspark']}, dbt-core {versions['dbt-core']}, dbt-spark "
        f"{versions['dbt-spark']}; driver memory {host['spark_driver_memory']}, "
        f"{host['spark_shuffle_partitions']} shuffle partitions; load average "
        f"{host['load_average_at_start'][0]} at the start, "
        f"{host.get('load_average_at_end', ['?'])[0]} at the end; commit {host['git_commit']}.",
    ]
    notes = sorted({note for run in result["runs"] for note in run.get("notes", [])})
    lines += [f"Note: {note}." for note in notes]
    return "\n".join(lines)


@dataclass(frozen=True)
class SizeFigures:
    """The medians of one size's latest results on the spark target, for the targets table."""

    size: str
    file: str
    date: str
    commit: str
    runs: int
    full: float
    incremental: float
    duckdb: float
    pyspark: float
    idle_cold: float | None
    idle_warm: float | None
    idle_built: bool
    peak_gib: float
    counts_match: bool

    @classmethod
    def from_result(cls, result: Mapping[str, Any], file: str) -> SizeFigures:
        summary = result["summary"]
        idle = summary.get("idle")
        return cls(
            size=str(result["size"]), file=file, date=str(result["date"]),
            commit=str(result["machine"]["git_commit"]), runs=len(result["runs"]),
            full=float(summary["full"]["median"]),
            incremental=float(summary["incremental"]["median"]),
            duckdb=float(summary["duckdb"]["median"]),
            pyspark=float(summary["baseline"]["median"]),
            idle_cold=float(idle["cold"]["median"]) if idle else None,
            idle_warm=float(idle["warm"]["median"]) if idle else None,
            idle_built=bool(idle["built"]) if idle else False,
            peak_gib=float(summary["peak_rss_pipeline_bytes"]) / GIB,
            counts_match=bool(summary["counts_match"]),
        )


def latest_figures(out_dir: Path) -> dict[str, SizeFigures]:
    """The latest results of S, M and L on the spark target in `out_dir` (results written by
    a harness without the DuckDB baseline are skipped)."""
    found: dict[str, SizeFigures] = {}
    for size in TARGET_SIZES:
        for path in sorted(out_dir.glob(f"????-??-??-{size}.json"), reverse=True):
            result = json.loads(path.read_text(encoding="utf-8"))
            if "duckdb" in result.get("summary", {}):
                found[size] = SizeFigures.from_result(result, path.name)
                break
    return found


def targets_section(figures: Mapping[str, SizeFigures]) -> str:
    """The issue's targets across sizes, from each size's latest results."""
    def cells(value: Callable[[SizeFigures], str]) -> str:
        return " | ".join(value(figures[size]) if size in figures else "not run"
                          for size in TARGET_SIZES)

    def at(size: str, test: Callable[[SizeFigures], bool]) -> str:
        if size not in figures:
            return f"pending ({size} not run)"
        return "**met**" if test(figures[size]) else "**not met**"

    def every(value: Callable[[SizeFigures], float | None], limit: float) -> str:
        measured = {size: value(item) for size, item in figures.items()}
        values = {size: v for size, v in measured.items() if v is not None}
        if not values:
            return "pending"
        missed = [size for size, v in values.items() if v > limit]
        pending = [size for size in TARGET_SIZES if size not in values]
        verdict = (f"**not met** at {', '.join(missed)}" if missed else
                   f"**met** at {', '.join(values)}")
        return verdict + (f" ({', '.join(pending)} not run)" if pending else "")

    def seconds(value: float | None, digits: int = 1) -> str:
        return "n/a" if value is None else f"{value:.{digits}f} s"

    m_plus, l_plus = figures.get("M"), figures.get("L")
    l_to_m = l_plus.incremental / m_plus.incremental if l_plus and m_plus else None
    lines = [
        "| target (issue 13) | S | M | L | verdict |",
        "|---|---:|---:|---:|---|",
        "| M full run ≤ 3 times the DuckDB baseline (full / DuckDB) | "
        + cells(lambda f: f"{f.full / f.duckdb:.2f} ({f.full:.0f} s / {f.duckdb:.1f} s)")
        + f" | {at('M', lambda f: f.full <= TARGET_FULL_TO_DUCKDB * f.duckdb)} |",
        "| M +1 day ≤ 10% of the M full run (+1 day / full) | "
        + cells(lambda f: f"{f.incremental / f.full:.2f} ({f.incremental:.0f} s)")
        + f" | {at('M', lambda f: f.incremental <= TARGET_INCREMENTAL_TO_FULL * f.full)} |",
        "| L +1 day ≤ 1.2 times M +1 day | | | "
        + ("not run" if l_to_m is None else f"{l_to_m:.2f}") + " | "
        + ("pending (needs M and L)" if l_to_m is None else
           "**met**" if l_to_m <= TARGET_L_TO_M_INCREMENTAL else "**not met**") + " |",
        "| nothing new, warm scheduler ≤ 5 s | "
        + cells(lambda f: seconds(f.idle_warm, 2))
        + f" | {every(lambda f: f.idle_warm, TARGET_IDLE_WARM_SECONDS)} |",
        "| nothing new, cold (JVM start-up included) ≤ 20 s | "
        + cells(lambda f: seconds(f.idle_cold))
        + f" | {every(lambda f: f.idle_cold, TARGET_IDLE_COLD_SECONDS)} |",
        "| peak RSS of the pipeline's steps ≤ 6 GiB at L | "
        + cells(lambda f: f"{f.peak_gib:.2f} GiB")
        + f" | {at('L', lambda f: f.peak_gib <= TARGET_PEAK_GIB)} |",
        "| _for reference:_ full / PySpark baseline | "
        + cells(lambda f: f"{f.full / f.pyspark:.2f} ({f.pyspark:.0f} s)") + " | |",
        "| _check:_ marts = DuckDB baseline (row counts, matched plays) | "
        + cells(lambda f: "same" if f.counts_match else "**differ**") + " | |",
        "",
        "Not measured yet." if not figures else "From: " + "; ".join(
            f"{size} `bench/results/{f.file}` ({f.runs} run{'s' if f.runs > 1 else ''}, "
            f"{f.date}, commit {f.commit})" for size, f in figures.items()) + ".",
    ]
    commits = {f.commit for f in figures.values()}
    if len(commits) > 1:
        lines.append("Note: these sizes were measured on different commits.")
    if any(f.idle_built for f in figures.values()):
        lines.append("Note: a nothing-new cycle ran a dbt build (see the size's section).")
    return "\n".join(lines)


def update_markdown(markdown: Path, label: str, section: str) -> None:
    """Replace the section between this label's markers, keeping everything else."""
    start, end = f"<!-- bench:{label}:start -->", f"<!-- bench:{label}:end -->"
    block = f"{start}\n{section}\n{end}"
    text = markdown.read_text(encoding="utf-8") if markdown.is_file() else "# Benchmarks\n"
    if start in text and end in text and text.index(start) < text.index(end):
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    markdown.write_text(text, encoding="utf-8")


# --- the warm nothing-new figure ---------------------------------------------------------------


def idle_cycles_main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.harness idle-cycles`: scheduled cycles in one process, each timed.

    What `python -m ingest run --every …` does between its sleeps (`run_cycle` under the
    cycle lock), without the sleeps; the bench takes the last cycle as the warm figure.
    """
    from ingest.run.scheduler import CycleConfig, cycle_lock, run_cycle

    parser = argparse.ArgumentParser(prog="python -m bench.harness")
    parser.add_argument("command", choices=["idle-cycles"])
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="JSON: seconds and builds")
    parser.add_argument("--target", choices=["spark"], default="spark")
    parser.add_argument("--source", required=True)
    parser.add_argument("--raw-schema", required=True)
    parser.add_argument("--schema", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    state = StatePaths.default()
    config = CycleConfig("spark", args.source, args.raw_schema, args.schema)
    seconds: list[float] = []
    built: list[bool] = []
    for number in range(1, args.cycles + 1):
        started = time.perf_counter()
        with cycle_lock(state.root / "run.lock") as acquired:
            if not acquired:
                raise IngestError(f"another cycle holds {state.root / 'run.lock'}")
            built.append(run_cycle(config, state))
        seconds.append(time.perf_counter() - started)
        log.info("cycle %d in this process: %.2f s, %s", number, seconds[-1],
                 "dbt build ran" if built[-1] else "no dbt build")
    args.out.write_text(json.dumps({"seconds": seconds, "built": built}) + "\n",
                        encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(idle_cycles_main())
