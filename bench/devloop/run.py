"""One dev-loop measurement: the `make run` sample staged into a fresh state, then `dbt build`
as a developer runs it again and again.

- cold: a new `dbt build` process (plain dbt, the embedded Spark: a new JVM each time), run
  twice; the second is the figure (tables already there, as after `make run`).
- warm: the dev loop's warm engine (`python -m ingest dev`, ingest.dev.engine): DEV_BUILDS
  builds one after the other in one process and JVM (bench.devloop.warm); the first pays
  the JVM's start, the median of the others is the figure (`warm` is the last of them).
- thrift: a Thrift Server of this state (`python -m ingest spark-server start`, its own
  port), the sample staged through it, `dbt build --target spark_thrift` twice (the second on
  a server that has run the build once), the server's CPU seconds counted: the EMR-like
  engine, for comparison.

The builds of one dbt target share a target folder, as a developer's builds share target/
(dbt then parses only what changed); each build has its own log folder and a copy of its
run_results.json: the nodes come from there, the SQL statements from its dbt.log
(bench.devloop.nodes).
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common.environment import step_env
from bench.devloop.cost import Cost, measured
from bench.devloop.nodes import BuildNodes, Statement, read_run_results, read_statements
from ingest.errors import IngestError
from ingest.paths import project_root
from ingest.sample.cache import generate_once
from ingest.sample.generate import GenerateConfig

log = logging.getLogger(__name__)
COLD, WARM = "cold", "warm"
DEV_BUILDS = 6


@dataclass(frozen=True)
class Build:
    """One measured `dbt build`: its cost, nodes and statements."""

    name: str
    engine: str
    cost: Cost
    nodes: BuildNodes
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class DevLoop:
    """The builds of one measurement, in the order they ran; `stage` as a reference."""

    stage: Cost
    builds: tuple[Build, ...]


def _dbt() -> str:
    found = Path(sys.executable).with_name("dbt")
    return str(found) if found.is_file() else "dbt"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class _Runner:
    work: Path
    env: dict[str, str]
    select: Sequence[str]

    def ingest(self, *args: str, name: str) -> Cost:
        return measured([sys.executable, "-m", "ingest", *args], env=self.env,
                        cwd=project_root(), log_file=self.work / f"{name}.log")

    def build(self, name: str, engine: str, target: str,
              server_pids: Sequence[int] = ()) -> Build:
        folder = self.work / name
        shutil.rmtree(folder, ignore_errors=True)
        project = project_root()
        # one target folder per dbt target, kept between builds as a developer's target/
        # is: dbt parses only what changed (partial parsing); the logs are the build's own
        target_path = self.work / f"target-{target}"
        command = [_dbt(), "build", "--project-dir", str(project), "--profiles-dir",
                   str(project / "profiles"), "--target", target,
                   "--target-path", str(target_path), "--log-path", str(folder / "logs"),
                   *self.select]
        log.info("  %s: dbt build (%s) ...", name, engine)
        cost = measured(command, env=self.env, cwd=project, log_file=self.work / "builds.log",
                        server_pids=server_pids)
        shutil.copy2(target_path / "run_results.json", folder / "run_results.json")
        build = Build(name, engine, cost, read_run_results(folder / "run_results.json"),
                      read_statements(folder / "logs" / "dbt.log"))
        log.info("  %s: %.1f s wall, %.1f CPU s, %d statements (load %.2f)", name,
                 cost.wall_seconds, cost.cpu_seconds, len(build.statements), cost.load_average)
        return build


    def warm_builds(self, count: int) -> list[Build]:
        """`count` builds on one warm engine (bench.devloop.warm in its own process)."""
        target_path = self.work / "target-spark"
        log.info("  warm engine: %d builds in one process ...", count)
        measured([sys.executable, "-m", "bench.devloop.warm", str(self.work), str(count),
                  str(target_path), *self.select], env=self.env, cwd=project_root(),
                 log_file=self.work / "builds.log")
        costs = json.loads((self.work / "dev-costs.json").read_text(encoding="utf-8"))
        builds = []
        for number, (name, cost) in enumerate(zip(_warm_names(count), costs, strict=True), 1):
            folder = self.work / f"dev-{number}"
            build = Build(name, "warm engine", Cost(**cost),
                          read_run_results(folder / "run_results.json"),
                          read_statements(folder / "logs" / "dbt.log"))
            log.info("  %s: %.1f s wall, %.1f CPU s, %d statements (load %.2f)", name,
                     build.cost.wall_seconds, build.cost.cpu_seconds, len(build.statements),
                     build.cost.load_average)
            builds.append(build)
        return builds


def run_devloop(work: Path, *, warm: bool = True, thrift: bool = True,
                select: Sequence[str] = (), sample: GenerateConfig | None = None,
                cold_runs: int = 2, warm_builds: int = DEV_BUILDS,
                restage: bool = True) -> DevLoop:
    """Stage the sample into a fresh state under `work` (or, without `restage`, reuse the
    state an earlier run staged), then `cold_runs` cold builds, `warm_builds` on the warm
    engine and two on a Thrift Server."""
    state = work / "state"
    if restage:  # a fresh state, and dbt's first build parses the whole project
        for folder in (state, *work.glob("target-*")):
            shutil.rmtree(folder, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    source = work / "sample"
    generate_once(source, sample or GenerateConfig(), progress=log.debug)
    env = step_env(state)
    env.update({"SPARKIFY_TARGET": "spark", "SPARKIFY_THRIFT_PORT": str(_free_port())})
    runner = _Runner(work, env, tuple(select))
    stage = Cost(0.0, 0.0, 0.0)
    if restage:
        log.info("  stage (embedded Spark) ...")
        stage = runner.ingest("stage", "--target", "spark", "--source", str(source), name="stage")
    names = [f"cold-{run}" for run in range(1, cold_runs)] + [COLD]
    if restage and cold_runs > 1:
        names[0] = "cold-first"
    builds = [runner.build(name, "embedded", "spark") for name in names]
    if warm:
        builds += runner.warm_builds(warm_builds)
    if thrift:
        with _thrift_server(runner) as pids:
            runner.ingest("stage", "--target", "spark_thrift", "--source", str(source),
                          name="stage-thrift")
            builds.append(runner.build("thrift-first", "thrift", "spark_thrift", pids))
            builds.append(runner.build("thrift", "thrift", "spark_thrift", pids))
    return DevLoop(stage, tuple(builds))


def _warm_names(count: int) -> list[str]:
    return ["warm-first", *(f"warm-{number}" for number in range(2, count)), WARM][:count]


@contextmanager
def _thrift_server(runner: _Runner) -> Iterator[tuple[int, ...]]:
    """This state's Thrift Server, started (not timed) and stopped; its JVM's pids."""
    from bench.common.memory import listening_pids

    log.info("  starting a Thrift Server on port %s ...", runner.env["SPARKIFY_THRIFT_PORT"])
    runner.ingest("spark-server", "start", name="thrift-server")
    try:
        pids = listening_pids("127.0.0.1", int(runner.env["SPARKIFY_THRIFT_PORT"]))
        if not pids:
            raise IngestError("the bench's Thrift Server answers on no local pid")
        yield pids
    finally:
        subprocess.run([sys.executable, "-m", "ingest", "spark-server", "stop"], env=runner.env,
                       cwd=project_root(), check=False, capture_output=True)
