"""The markdown of one bench (its section of BENCHMARKS.md), and replacing a marked section."""

from __future__ import annotations

import os
from pathlib import Path

from bench.batch.goals import (
    TARGET_FULL_TO_DUCKDB,
    TARGET_IDLE_COLD_SECONDS,
    TARGET_IDLE_WARM_SECONDS,
    TARGET_INCREMENTAL_TO_FULL,
    TARGET_PEAK_GIB,
    TARGET_THRIFT_BUILD_S_SECONDS,
    verdict,
)
from bench.batch.results import COUNTED, BenchResult, BuildSummary, Stats, Summary
from bench.batch.steps import (
    BASELINE,
    DUCKDB,
    DUCKDB_PLUS_DAY,
    FULL_STEPS,
    IDLE_COLD,
    IDLE_WARM,
    INCREMENTAL_CYCLE,
    incremental_build,
    incremental_steps,
)
from bench.common.memory import GIB


def _cell(values: Stats) -> str:
    return f"{values.median:.1f} | {values.min:.1f} | {values.max:.1f}"


def _gib(value: float) -> str:
    return f"{value / GIB:.2f}"


def markdown_section(result: BenchResult, chart: Path, markdown: Path) -> str:
    """The section of one size and target: steps, ratios against the targets, dbt nodes."""
    summary, data = result.summary, result.data
    runs = len(result.runs)
    lines = [
        f"### {result.size} on {result.target}: {data.song_files:,} song files, "
        f"{result.config.days} days + 1 ({data.events:,} events + "
        f"{data.extra_day_events:,}), {runs} run{'s' if runs > 1 else ''}, {result.date}",
        "",
    ]
    if result.config.note:
        lines += [f"_{result.config.note}._", ""]
    lines += [*_steps_table(summary), "", *_measures_table(result), "", *_counts_lines(result),
              "", *_nodes_table(summary), "",
              f"![{result.size} on {result.target}: time by step and by dbt node]"
              f"({Path(os.path.relpath(chart, markdown.parent)).as_posix()})",
              "", _machine_line(result)]
    notes = sorted({note for run in result.runs for note in run.notes})
    lines += [f"Note: {note}." for note in notes]
    return "\n".join(lines)


def _steps_table(summary: Summary) -> list[str]:
    """Every step: median, min and max seconds, peak RSS and events per second."""
    steps, peaks, rate = summary.steps, summary.peak_rss_bytes, summary.events_per_second

    def total_peak(names: tuple[str, ...]) -> str:
        return _gib(max(peaks[name] for name in names))

    def row(label: str, step: str, events: str = "") -> str:
        tail = f" {events} |" if events else " |"
        return f"| {label} | {_cell(steps[step])} | {_gib(peaks[step])} |{tail}"

    lines = [
        "| step | median s | min s | max s | peak RSS GiB | events/s |",
        "|---|---:|---:|---:|---:|---:|",
        f"| **full pipeline** (stage + dbt build) | {_cell(summary.full)} | "
        f"{total_peak(FULL_STEPS)} | {rate.full:,.0f} |",
        row("&nbsp;&nbsp;stage", "stage"),
        row("&nbsp;&nbsp;dbt build", "dbt_build"),
    ]
    plus_day = incremental_steps(steps)
    incremental = f"{_cell(summary.incremental)} | {total_peak(plus_day)} | " \
                  f"{rate.incremental:,.0f} |"
    if plus_day == (INCREMENTAL_CYCLE,):
        extra = summary.dbt[INCREMENTAL_CYCLE]
        lines += [
            "| **incremental, +1 day** (one scheduled cycle, `ingest run --once`: stage + "
            f"dbt build, data tests on the rebuilt day) | {incremental}",
            f"| &nbsp;&nbsp;dbt's run phase (run_results.json) | {_cell(extra.run_phase)} | | |",
            f"| &nbsp;&nbsp;the rest: start-up, stage, dbt parsing | "
            f"{_cell(extra.outside_run)} | | |",
        ]
    else:
        lines += [f"| **incremental, +1 day** (stage + dbt build) | {incremental}",
                  row("&nbsp;&nbsp;stage", "stage_incremental"),
                  row("&nbsp;&nbsp;dbt build", "dbt_build_incremental")]
    if summary.idle:
        lines += [row("**nothing new, cold** (`ingest run --once`, its own process)", IDLE_COLD),
                  f"| **nothing new, warm** (2nd idle cycle of one `ingest run` process) | "
                  f"{_cell(summary.idle.warm)} | {_gib(peaks[IDLE_WARM])} | |"]
    return [
        *lines,
        row("**PySpark baseline** (bench/batch/baseline_etl.py)", BASELINE,
            f"{rate.baseline:,.0f}"),
        row("**DuckDB baseline** (bench/batch/baseline_duckdb.py)", DUCKDB,
            f"{rate.duckdb:,.0f}"),
        row("&nbsp;&nbsp;DuckDB baseline on 31 days (its +1 day: a full rerun)",
            DUCKDB_PLUS_DAY),
    ]


def _measures_table(result: BenchResult) -> list[str]:
    """The ratios and figures the issue sets targets for, with their verdicts."""
    summary, size = result.summary, result.size
    lines = [
        "| measure (medians) | value | target | |",
        "|---|---:|---|---|",
        f"| full pipeline / DuckDB baseline | {summary.full_to_duckdb:.2f} | ≤ 3 on M | "
        f"{verdict(summary.full_to_duckdb, TARGET_FULL_TO_DUCKDB, size == 'M')} |",
        f"| full pipeline / PySpark baseline | {summary.full_to_baseline:.2f} | | |",
        f"| incremental / full | {summary.incremental_to_full:.2f} | ≤ 0.10 on M | "
        f"{verdict(summary.incremental_to_full, TARGET_INCREMENTAL_TO_FULL, size == 'M')} |",
    ]
    if summary.idle:
        cold, warm = summary.idle.cold.median, summary.idle.warm.median
        lines += [
            f"| nothing new, cold | {cold:.1f} s | ≤ 20 s | "
            f"{verdict(cold, TARGET_IDLE_COLD_SECONDS)} |",
            f"| nothing new, warm | {warm:.2f} s | ≤ 5 s | "
            f"{verdict(warm, TARGET_IDLE_WARM_SECONDS)} |",
        ]
    peak = summary.peak_rss_pipeline_bytes
    lines.append(f"| peak memory, pipeline steps | {_gib(peak)} GiB | ≤ 6 GiB at L | "
                 f"{verdict(peak / GIB, TARGET_PEAK_GIB, size == 'L')} |")
    if result.target == "spark_thrift":
        build = summary.steps["dbt_build"].median
        lines.append(f"| dbt build on a warm Thrift Server | {build:.1f} s | ≤ 20 s on S | "
                     f"{verdict(build, TARGET_THRIFT_BUILD_S_SECONDS, size == 'S')} |")
    return lines


def _counts_lines(result: BenchResult) -> list[str]:
    """The project's marts against the DuckDB baseline, row for row count, per run."""
    checks = [(number, check) for number, run in enumerate(result.runs, 1)
              for check in run.counts]
    if not checks:
        return ["Row counts: not compared on this target (the DuckDB baseline's are in the "
                "JSON)."]
    same = all(check.same for _n, check in checks)
    lines = [
        "Row counts, the project's marts against the DuckDB baseline on the same days "
        f"({'the same in every run' if same else 'DIFFERENT: see below'}):",
        "",
        "| after | " + " | ".join(COUNTED) + " |",
        "|---|" + "---:|" * len(COUNTED),
    ]
    for number, check in checks:
        label = {"full": "full run (30 days)", "plus_day": "+1 day (31 days)"}[check.when]
        cells = []
        for name in COUNTED:
            mine, theirs = getattr(check.project, name), getattr(check.duckdb, name)
            cells.append(f"{mine:,}" if mine == theirs else f"**{mine:,} vs {theirs:,}**")
        run_label = f", run {number}" if len(result.runs) > 1 else ""
        lines.append(f"| {label}{run_label} | " + " | ".join(cells) + " |")
    return lines


def _nodes_table(summary: Summary) -> list[str]:
    """The dbt build by node, full run against the +1 day."""
    full: BuildSummary = summary.dbt["dbt_build"]
    extra_build = incremental_build(summary.steps)
    extra = summary.dbt[extra_build]
    cycle_note = (" (+1 day: the rest of the cycle, its stage included)"
                  if extra_build == INCREMENTAL_CYCLE else "")
    sums = ((full.tests, extra.tests, "test", "data tests"),
            (full.unit_tests, extra.unit_tests, "unit_test", "unit tests"))
    return [
        "dbt build by node, median seconds (dbt runs several nodes at once, so node times overlap; "
        "\"outside the run phase\" is dbt's start-up and parsing; the embedded Spark's JVM "
        "starts inside the run phase, with the first node):",
        "",
        "| node | full | +1 day |",
        "|---|---:|---:|",
        *(f"| {name.replace(':', ' ', 1)} | {values.median:.1f} | "
          f"{extra.nodes[name].median if name in extra.nodes else 0.0:.1f} |"
          for name, values in full.nodes.items()),
        *(f"| {full.counts[kind]} {label} (sum) | {mine.median:.1f} | {theirs.median:.1f} |"
          for mine, theirs, kind, label in sums if full.counts.get(kind)),
        f"| outside the run phase{cycle_note} | "
        f"{full.outside_run.median:.1f} | {extra.outside_run.median:.1f} |",
        f"| **wall time** | **{summary.steps['dbt_build'].median:.1f}** | "
        f"**{summary.steps[extra_build].median:.1f}** |",
    ]


def _machine_line(result: BenchResult) -> str:
    host = result.machine
    versions = host.versions
    at_end = host.load_average_at_end[0] if host.load_average_at_end else "?"
    return (
        f"Machine: {host.cpu}, {host.logical_cpus} CPUs, {host.ram_gib} GiB RAM, "
        f"{host.os}; Python {host.python}, {host.java}, pyspark "
        f"{versions['pyspark']}, dbt-core {versions['dbt-core']}, dbt-spark "
        f"{versions['dbt-spark']}; driver memory {host.spark_driver_memory}, "
        f"{host.spark_shuffle_partitions} shuffle partitions; load average "
        f"{host.load_average_at_start[0]} at the start, "
        f"{at_end} at the end; commit {host.git_commit}."
    )

