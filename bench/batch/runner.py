"""One run of a size, from a fresh state: the pipeline's steps, then the two baselines.

Full run (stage, `dbt build`), the +1 day (one scheduled cycle on spark, else a stage and a
build by hand), nothing new (spark: cold and warm cycles), the PySpark baseline and the
DuckDB baseline on 30 and 31 days; each step its own process, timed by bench.measure.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.batch.measure import measure
from bench.batch.results import (
    CountCheck,
    DbtNode,
    DbtRun,
    IdleCycles,
    RowCounts,
    RunResult,
    StepResult,
)
from bench.batch.sizes import BenchSize, Dataset, link
from bench.batch.steps import (
    BASELINE,
    BUILD_STEPS,
    DUCKDB,
    DUCKDB_PLUS_DAY,
    IDLE_COLD,
    IDLE_WARM,
    INCREMENTAL_CYCLE,
    NOTHING_NEW_MESSAGE,
    SCOPED_TESTS_MESSAGE,
)
from bench.batch.targets import TargetRun, target_run
from bench.common.environment import step_env
from bench.common.memory import GIB
from ingest.errors import IngestError
from ingest.paths import StatePaths, project_root

log = logging.getLogger(__name__)

MART_TABLES = {"artists": "dim_artists", "songplays": "fct_songplays", "songs": "dim_songs",
               "time": "dim_time", "users": "dim_users"}


@dataclass
class _Recorder:
    """Runs and records the steps of one run; keeps each dbt build's run_results.json."""

    run_dir: Path
    project: Path
    steps: dict[str, StepResult] = field(default_factory=dict)
    dbt: dict[str, DbtRun] = field(default_factory=dict)

    def step(self, name: str, command: Sequence[str], env: Mapping[str, str], *,
             step_log: Path | None = None, extra_pids: Sequence[int] = ()) -> None:
        log.info("  %s ...", name)
        result = measure(command, env=env, cwd=self.project,
                         log_file=step_log or self.run_dir / "steps.log", extra_pids=extra_pids)
        self.steps[name] = result
        if name in BUILD_STEPS:
            results = self.run_dir / "target" / "run_results.json"
            shutil.copy2(results, self.run_dir / f"run_results-{name}.json")
            self.dbt[name] = dbt_run(results)
        log.info("  %s: %.1f s, peak %.2f GiB", name, result.seconds,
                 result.peak_rss_bytes / GIB)

    def pipeline_step(self, run: TargetRun, name: str, command: Sequence[str], *,
                      step_log: Path | None = None, **env: str) -> None:
        """A step of the pipeline: the target's environment, its server's memory counted."""
        self.step(name, command, {**run.env, **env}, step_log=step_log,
                  extra_pids=run.server_pids)


def run_once(size: BenchSize, data: Dataset, target: str, run_dir: Path,
             keep_state: bool = False) -> RunResult:
    """One full + incremental + idle pipeline run and the baselines, each from scratch."""
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    steps = _Recorder(run_dir, project_root())
    project_counts: dict[str, RowCounts] = {}
    idle: IdleCycles | None = None
    with target_run(target, run_dir / "state") as run:
        embedded = run.dbt_target == "spark"  # local mode or the standalone cluster
        stage = [sys.executable, "-m", "ingest", "stage", "--target", run.dbt_target,
                 "--source", str(data.source)]
        build = [dbt_executable(), "build", "--project-dir", str(steps.project),
                 "--profiles-dir", str(steps.project / "profiles"), "--target", run.dbt_target,
                 "--target-path", str(run_dir / "target"), "--log-path", str(run_dir / "logs"),
                 *size.dbt_build_args]
        steps.pipeline_step(run, "stage", stage)
        steps.pipeline_step(run, "dbt_build", build)
        _count_marts(project_counts, "full", run, run_dir)
        link(data.extra_day, data.incoming)
        try:
            if embedded:
                _cycle_step(run, data.source, steps)
            else:
                steps.pipeline_step(run, "stage_incremental", stage)
                steps.pipeline_step(run, "dbt_build_incremental", build)
            _count_marts(project_counts, "plus_day", run, run_dir)
            if embedded:
                idle = _idle_steps(run, data.source, steps)
            else:
                run.notes.append(f"no nothing-new steps on {target} (`ingest run` cycles "
                                 "stage on the embedded Spark or on PostgreSQL); its +1 day "
                                 "is a stage and a `dbt build` by hand, all data tests")
        finally:
            data.incoming.unlink(missing_ok=True)
    tables, duckdb_tables, duckdb_counts = _baselines(data, steps)
    checks = tuple(CountCheck(when, found, duckdb_counts[name])
                   for when, name in (("full", DUCKDB), ("plus_day", DUCKDB_PLUS_DAY))
                   if (found := project_counts.get(when)) is not None)
    for check in checks:
        log.info("  row counts after the %s run: %s", check.when,
                 "project = DuckDB baseline" if check.same else
                 f"DIFFER: project {check.project}, DuckDB {check.duckdb}")
    if not keep_state:
        for folder in (run_dir / "state" / "landing", run_dir / "state" / "spark",
                       run_dir / "baseline", run_dir / "target"):
            shutil.rmtree(folder, ignore_errors=True)
    return RunResult(steps=steps.steps, dbt=steps.dbt, baseline_tables=tables,
                     duckdb_tables=duckdb_tables, counts=checks, idle=idle,
                     notes=tuple(run.notes))


def _baselines(data: Dataset, steps: _Recorder
               ) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, RowCounts]]:
    """The PySpark job on the 30 days, the DuckDB job on 30 and on 31: their tables and
    the DuckDB job's row counts."""
    env = step_env(steps.run_dir / "baseline" / "state")
    out = steps.run_dir / "baseline" / "out"
    baselines = steps.project / "bench" / "batch"
    steps.step(BASELINE, [sys.executable, str(baselines / "baseline_etl.py"),
                          "--input", str(data.source), "--output", str(out)], env)
    tables = tuple(sorted(path.name for path in out.iterdir() if path.is_dir()))
    duckdb_out = steps.run_dir / "baseline" / "duckdb"
    counts: dict[str, RowCounts] = {}
    for name in (DUCKDB, DUCKDB_PLUS_DAY):
        counts_file = steps.run_dir / f"counts-{name}.json"
        if name == DUCKDB_PLUS_DAY:
            link(data.extra_day, data.incoming)
        try:
            steps.step(name, [sys.executable, str(baselines / "baseline_duckdb.py"),
                              "--input", str(data.source), "--output", str(duckdb_out),
                              "--counts", str(counts_file)], env)
        finally:
            data.incoming.unlink(missing_ok=True)
        counts[name] = RowCounts.from_mapping(json.loads(counts_file.read_text(encoding="utf-8")))
    duckdb_tables = tuple(sorted(path.stem for path in duckdb_out.glob("*.parquet")))
    return tables, duckdb_tables, counts


def _cycle_names(run: TargetRun, source: Path) -> list[str]:
    return ["--target", "spark", "--source", str(source), "--raw-schema", run.raw_schema,
            "--schema", run.schema]


def _cycle_step(run: TargetRun, source: Path, steps: _Recorder) -> None:
    """The +1 day as a scheduled cycle: `ingest run --once` stages and builds it.

    The full run was a stage and a `dbt build` by hand, so the build marker a cycle writes
    after a successful build is recorded first (that build just succeeded on everything
    staged, which is what the marker says): the cycle then knows its data tests need look
    only at the days it rebuilt. dbt's run_results.json goes where the bench reads it.
    """
    from ingest.raw.sources import parse_source
    from ingest.run.builds import BuildMarker, spark_target
    from ingest.stage.landing.folder import Landing
    from ingest.stage.ledger_mark import landing_mark

    state = StatePaths(Path(run.env["SPARKIFY_STATE_DIR"]).resolve())
    BuildMarker.of(state, spark_target(state), run.raw_schema, run.schema,
                   steps.project).record_built(
        landing_mark(Landing.of(state, parse_source(str(source))))())
    cycle_log = steps.run_dir / f"{INCREMENTAL_CYCLE}.log"
    steps.pipeline_step(run, INCREMENTAL_CYCLE, [sys.executable, "-m", "ingest", "run", "--once",
                                                 *_cycle_names(run, source)],
                        step_log=cycle_log, DBT_TARGET_PATH=str(steps.run_dir / "target"),
                        DBT_LOG_PATH=str(steps.run_dir / "logs"))
    if SCOPED_TESTS_MESSAGE not in cycle_log.read_text(encoding="utf-8", errors="replace"):
        run.notes.append("the +1 day cycle ran the full data test suite, not the rebuilt "
                         f"days only (see {cycle_log.name})")
        log.warning("the +1 day cycle did not scope its data tests (see %s)", cycle_log)


def _idle_steps(run: TargetRun, source: Path, steps: _Recorder) -> IdleCycles:
    """Nothing new, cold (`ingest run --once`, its own process) and warm (the second idle
    cycle of one scheduler process, timed in-process), after the +1 day's cycle."""
    names = _cycle_names(run, source)
    cold_log = steps.run_dir / f"{IDLE_COLD}.log"
    steps.pipeline_step(run, IDLE_COLD, [sys.executable, "-m", "ingest", "run", "--once", *names],
                        step_log=cold_log)
    cold_built = NOTHING_NEW_MESSAGE not in cold_log.read_text(encoding="utf-8",
                                                               errors="replace")
    warm_out = steps.run_dir / f"{IDLE_WARM}.json"
    steps.pipeline_step(run, IDLE_WARM, [sys.executable, "-m", "bench.batch.idle_cycles",
                                         "--cycles", "2", "--out", str(warm_out), *names],
                        step_log=steps.run_dir / f"{IDLE_WARM}.log")
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


def _count_marts(counts: dict[str, RowCounts], when: str, run: TargetRun,
                 run_dir: Path) -> None:
    found = mart_counts(run, run_dir / "state")
    if found is not None:
        counts[when] = found


def mart_counts(run: TargetRun, state: Path) -> RowCounts | None:
    """Rows of the marts, read from the embedded Spark warehouse's parquet files by DuckDB
    (no JVM); None on the other targets."""
    if run.dbt_target != "spark":
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
    """The dbt beside this Python, else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    found = str(beside) if beside.is_file() else shutil.which("dbt")
    if not found:
        raise IngestError("dbt is not installed in this environment (make setup)")
    return found


def dbt_run(run_results: Path) -> DbtRun:
    """The run phase's elapsed seconds and each node's type, status and execution time."""
    results = json.loads(run_results.read_text(encoding="utf-8"))
    nodes = {}
    for item in results["results"]:
        unique_id = str(item["unique_id"])
        kind, _package, name = unique_id.split(".", 2)
        nodes[unique_id] = DbtNode(type=kind, name=name, status=str(item["status"]),
                                   seconds=float(item["execution_time"]))
    return DbtRun(elapsed_seconds=float(results["elapsed_time"]), nodes=nodes)
