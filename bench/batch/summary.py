"""The summary of a bench's runs: medians, min and max; totals, ratios, memory, throughput."""

from __future__ import annotations

from collections.abc import Sequence

from bench.batch.results import BuildSummary, IdleSummary, RunResult, Stats, Summary, Throughput
from bench.batch.sizes import DataFigures
from bench.batch.steps import (
    ALL_STEPS,
    BASELINE,
    BUILD_STEPS,
    DUCKDB,
    FULL_STEPS,
    IDLE_COLD,
    incremental_steps,
)


def summarize(runs: Sequence[RunResult], data: DataFigures) -> Summary:
    """Median, min and max of every step and dbt node; totals, ratios, memory, throughput."""
    def seconds(run: RunResult, names: Sequence[str]) -> float:
        return float(sum(run.steps[name].seconds for name in names))

    present = [name for name in ALL_STEPS if all(name in run.steps for run in runs)]
    steps = {name: Stats.of([seconds(run, (name,)) for run in runs]) for name in present}
    peaks = {name: max(run.steps[name].peak_rss_bytes for run in runs) for name in present}
    full = Stats.of([seconds(run, FULL_STEPS) for run in runs])
    plus_day = incremental_steps(steps)
    incremental = Stats.of([seconds(run, plus_day) for run in runs])
    baseline, duckdb = steps[BASELINE], steps[DUCKDB]
    idles = [run.idle for run in runs if run.idle is not None]
    return Summary(
        steps=steps,
        peak_rss_bytes=peaks,
        full=full,
        incremental=incremental,
        baseline=baseline,
        duckdb=duckdb,
        full_to_baseline=full.median / baseline.median,
        full_to_duckdb=full.median / duckdb.median,
        incremental_to_full=incremental.median / full.median,
        idle=None if not idles else IdleSummary(
            cold=steps[IDLE_COLD],
            warm=Stats.of([idle.warm for idle in idles]),
            built=any(idle.cold_built or any(idle.warm_built) for idle in idles),
        ),
        counts_match=all(check.same for run in runs for check in run.counts),
        peak_rss_pipeline_bytes=max(peaks[name] for name in (*FULL_STEPS, *plus_day)),
        events=data.events,
        extra_day_events=data.extra_day_events,
        events_per_second=Throughput(
            full=data.events / full.median,
            baseline=data.events / baseline.median,
            duckdb=data.events / duckdb.median,
            incremental=data.extra_day_events / incremental.median,
        ),
        dbt={name: _summarize_build(runs, name) for name in BUILD_STEPS if name in steps},
    )


def _summarize_build(runs: Sequence[RunResult], step: str) -> BuildSummary:
    """Per model and seed (exposures take no time); data tests and unit tests summed; the
    time outside the run phase (start-up, parsing)."""
    per_node: dict[str, list[float]] = {}
    sums: dict[str, list[float]] = {"test": [], "unit_test": []}
    counts: dict[str, int] = {}
    outside: list[float] = []
    for run in runs:
        build = run.dbt[step]
        totals = dict.fromkeys(sums, 0.0)
        for node in build.nodes.values():
            if node.type in sums:
                totals[node.type] += node.seconds
            elif node.type in {"model", "seed", "snapshot"}:
                per_node.setdefault(f"{node.type}:{node.name}", []).append(node.seconds)
        for kind, total in totals.items():
            sums[kind].append(total)
        counts = {kind: sum(1 for node in build.nodes.values() if node.type == kind)
                  for kind in ("model", "seed", "test", "unit_test")}
        outside.append(run.steps[step].seconds - build.elapsed_seconds)
    nodes = {name: Stats.of(values) for name, values in per_node.items()}
    return BuildSummary(
        nodes=dict(sorted(nodes.items(), key=lambda item: -item[1].median)),
        tests=Stats.of(sums["test"]),
        unit_tests=Stats.of(sums["unit_test"]),
        counts=counts,
        outside_run=Stats.of(outside),
        run_phase=Stats.of([run.dbt[step].elapsed_seconds for run in runs]),
    )
