"""The dev loop's figures: a JSON file per measurement and BENCHMARKS.md's `devloop` section."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import asdict
from pathlib import Path

from bench.common.machine import Machine
from bench.common.markdown import update_markdown
from bench.devloop.nodes import KINDS, statement_counts
from bench.devloop.run import Build, DevLoop

LABEL = "devloop"
KIND_NAMES = {"model": "models", "seed": "seed", "test": "data tests", "unit_test": "unit tests"}


def write_json(loop: DevLoop, machine: Machine, out_dir: Path, today: dt.date) -> Path:
    """<out_dir>/<date>-devloop.json: the machine and every build's figures."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{today.isoformat()}-devloop.json"
    payload = {"date": today.isoformat(), "machine": asdict(machine), **asdict(loop)}
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n", encoding="utf-8")
    return path


def _row(build: Build) -> str:
    cost, nodes = build.cost, build.nodes
    kinds = nodes.by_kind()
    per_kind = " | ".join(
        f"{kinds[kind][0]} in {kinds[kind][1]:.1f} s" if kind in kinds else "" for kind in KINDS)
    outside = cost.wall_seconds - nodes.run_phase_seconds
    return (f"| {build.name} | {build.engine} | {cost.wall_seconds:.1f} | {cost.cpu_seconds:.1f} "
            f"| {cost.load_average:.2f} | {nodes.run_phase_seconds:.1f} | {outside:.1f} "
            f"| {len(build.statements)} | {per_kind} |")


def _statement_table(builds: tuple[Build, ...]) -> list[str]:
    counts = {build.name: statement_counts(build.statements) for build in builds}
    kinds = sorted({kind for found in counts.values() for kind in found},
                   key=lambda kind: -max(found[kind] for found in counts.values()))
    lines = ["| statement | " + " | ".join(build.name for build in builds) + " |",
             "|---|" + "---:|" * len(builds)]
    lines += [f"| `{kind}` | " + " | ".join(str(counts[build.name][kind]) for build in builds)
              + " |" for kind in kinds]
    return lines


def warm_median(builds: tuple[Build, ...]) -> float | None:
    """The warm figure: the median wall time of the warm engine's builds after its first."""
    walls = [build.cost.wall_seconds for build in builds
             if build.engine == "warm engine" and build.name != "warm-first"]
    return statistics.median(walls) if walls else None


def _figures(builds: tuple[Build, ...]) -> list[str]:
    cold = next((build for build in builds if build.name == "cold"), None)
    warm = warm_median(builds)
    lines = []
    if cold is not None:
        lines.append(f"**Cold** (a new `dbt build` process and JVM): "
                     f"**{cold.cost.wall_seconds:.1f} s** wall, {cold.cost.cpu_seconds:.1f} CPU s.")
    if warm is not None:
        each = ", ".join(f"{build.cost.wall_seconds:.1f}" for build in builds
                         if build.engine == "warm engine" and build.name != "warm-first")
        lines.append(f"**Warm** (`python -m ingest dev`: one process and JVM, builds after its "
                     f"first): median **{warm:.1f} s** wall (each: {each} s).")
    return [*lines, ""] if lines else []


def _top_nodes(build: Build) -> str:
    return ", ".join(f"`{node.name}` {node.seconds:.1f} s"
                     for node in build.nodes.top())


def section(loop: DevLoop, machine: Machine, today: dt.date) -> str:
    """The markdown between the `devloop` markers."""
    start, end = machine.load_average_at_start, machine.load_average_at_end
    lines = [
        f"Measured {today.isoformat()}, commit {machine.git_commit}, {machine.cpu} "
        f"({machine.logical_cpus} CPUs), load average {start[0] if start else '?'} at the "
        f"start and {end[0] if end else '?'} at the end (other jobs shared the machine: CPU "
        "seconds of the build's processes, and of the Thrift Server for its builds, are the "
        "comparable figure). " + (
            "Stage of the sample (not part of the loop): "
            f"{loop.stage.wall_seconds:.1f} s wall, {loop.stage.cpu_seconds:.1f} CPU s."
            if loop.stage.wall_seconds else "The builds reused an earlier run's stage."),
        "",
        *_figures(loop.builds),
        "| build | engine | wall s | CPU s | load (1 min) | run phase s | outside the run "
        "phase s | SQL statements | " + " | ".join(KIND_NAMES[kind] for kind in KINDS) + " |",
        "|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(KINDS),
        *(_row(build) for build in loop.builds),
        "",
        "Each kind of node: how many, and their summed node time (dbt runs two at a time on "
        "the embedded Spark, four on the Thrift Server). `cold-first` and `thrift-first` run "
        "on a warehouse that has not built yet; `warm-first` is the warm engine's first build "
        "(it starts the JVM); `cold` and the `warm` builds after the first are the dev loop's "
        "figures.",
        "",
        "SQL statements per build, by kind (from each build's `logs/dbt.log`):",
        "",
        *_statement_table(loop.builds),
        "",
        *(f"Top nodes, {build.name}: {_top_nodes(build)}." for build in loop.builds
          if build.name in {"cold", "warm", "thrift"}),
    ]
    return "\n".join(lines)


def write_markdown(loop: DevLoop, machine: Machine, markdown: Path, today: dt.date) -> None:
    update_markdown(markdown, LABEL, section(loop, machine, today))
