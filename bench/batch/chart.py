"""The chart of one bench: time by step (left) and the dbt build by node (right), a PNG."""

from __future__ import annotations

from pathlib import Path

from bench.batch.results import BenchResult, BuildSummary, Stats, Summary
from bench.batch.steps import (
    BASELINE,
    DUCKDB,
    DUCKDB_PLUS_DAY,
    IDLE_COLD,
    INCREMENTAL_CYCLE,
    incremental_build,
)

COLORS = {"stage": "#4C72B0", "dbt build": "#DD8452", "ingest run --once": "#8172B3",
          "PySpark job": "#55A868", "DuckDB job": "#937860"}
Bar = tuple[str, tuple[tuple[str, str], ...]]  # label, (step, kind) stacked bottom up


def write_chart(result: BenchResult, path: Path) -> None:
    """Left: full run, incremental run and baselines by step; right: the dbt build by node."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    summary = result.summary
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5),
                                         gridspec_kw={"width_ratios": [1.4, 1.5]})
    bars = _step_bars(summary)
    seen: set[str] = set()
    for x, (_label, parts) in enumerate(bars):
        bottom = 0.0
        for step, kind in parts:
            value = summary.steps[step].median
            left.bar(x, value, bottom=bottom, color=COLORS[kind], width=0.6,
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
    figure.suptitle(f"sparkify bench {result.size} on {result.target}: "
                    f"{summary.events:,} events, {len(result.runs)} run(s), "
                    f"{result.date}", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _step_bars(summary: Summary) -> list[Bar]:
    """The bars of the left view: each a label and its stacked steps."""
    plus_day = ((INCREMENTAL_CYCLE, "ingest run --once"),) \
        if INCREMENTAL_CYCLE in summary.steps \
        else (("stage_incremental", "stage"), ("dbt_build_incremental", "dbt build"))
    bars: list[Bar] = [
        ("full run", (("stage", "stage"), ("dbt_build", "dbt build"))),
        ("+1 day", plus_day),
    ]
    if IDLE_COLD in summary.steps:
        bars.append(("nothing new\n(cold)", ((IDLE_COLD, "ingest run --once"),)))
    return [*bars, ("PySpark\nbaseline", ((BASELINE, "PySpark job"),)),
            ("DuckDB\nbaseline", ((DUCKDB, "DuckDB job"),)),
            ("DuckDB\n31 days", ((DUCKDB_PLUS_DAY, "DuckDB job"),))]


def _build_breakdown(summary: Summary) -> tuple[list[str], list[float], list[float]]:
    """Rows of the per-node view: models and seed, test sums, the time outside the run."""
    full = summary.dbt["dbt_build"]
    extra = summary.dbt[incremental_build(summary.steps)]
    names = list(full.nodes)
    if full.counts.get("test"):
        names.append("data tests (sum)")
    if full.counts.get("unit_test"):
        names.append("unit tests (sum)")
    names.append("outside the run phase")

    def value(build: BuildSummary, name: str) -> float:
        sections: dict[str, Stats | None] = {
            "data tests (sum)": build.tests, "unit tests (sum)": build.unit_tests,
            "outside the run phase": build.outside_run}
        entry = sections[name] if name in sections else build.nodes.get(name)
        return entry.median if entry else 0.0

    return ([name.split(":", 1)[-1] for name in names], [value(full, name) for name in names],
            [value(extra, name) for name in names])
