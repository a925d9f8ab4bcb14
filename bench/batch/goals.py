"""The issue's speed and memory targets, and the table of them across sizes (BENCHMARKS.md).

None is asserted anywhere: they are reported against the figures. The table is built from
the latest results file of each size on the spark target.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.batch.results import BenchResult, has_duckdb
from bench.common.memory import GIB

TARGET_FULL_TO_DUCKDB = 3.0  # on M
TARGET_INCREMENTAL_TO_FULL = 0.10  # on M
TARGET_L_TO_M_INCREMENTAL = 1.2
TARGET_IDLE_COLD_SECONDS = 20.0
TARGET_IDLE_WARM_SECONDS = 5.0
TARGET_PEAK_GIB = 6.0  # at L
TARGET_THRIFT_BUILD_S_SECONDS = 20.0
TARGET_SIZES = ("S", "M", "L")


def verdict(value: float, limit: float, applies: bool = True) -> str:
    """"met", "not met", or "n/a here" when the target is about another size."""
    if not applies:
        return "n/a here"
    return "met" if value <= limit else "not met"


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
    def from_result(cls, result: BenchResult, file: str) -> SizeFigures:
        summary, idle = result.summary, result.summary.idle
        return cls(
            size=result.size, file=file, date=result.date, commit=result.machine.git_commit,
            runs=len(result.runs), full=summary.full.median,
            incremental=summary.incremental.median, duckdb=summary.duckdb.median,
            pyspark=summary.baseline.median,
            idle_cold=idle.cold.median if idle else None,
            idle_warm=idle.warm.median if idle else None,
            idle_built=idle.built if idle else False,
            peak_gib=summary.peak_rss_pipeline_bytes / GIB,
            counts_match=summary.counts_match,
        )


def latest_figures(out_dir: Path) -> dict[str, SizeFigures]:
    """The latest results of S, M and L on the spark target in `out_dir` (results written by
    a harness without the DuckDB baseline are skipped)."""
    found: dict[str, SizeFigures] = {}
    for size in TARGET_SIZES:
        for path in sorted(out_dir.glob(f"????-??-??-{size}.json"), reverse=True):
            value = json.loads(path.read_text(encoding="utf-8"))
            if has_duckdb(value):
                found[size] = SizeFigures.from_result(BenchResult.from_json(value), path.name)
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
        said = (f"**not met** at {', '.join(missed)}" if missed else
                f"**met** at {', '.join(values)}")
        return said + (f" ({', '.join(pending)} not run)" if pending else "")

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
