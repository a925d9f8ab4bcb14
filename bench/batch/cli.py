"""`python -m bench`: the argument parser and the command; bench's own environment reads.

SPARKIFY_BENCH_SIZE, SPARKIFY_TARGET and SPARKIFY_BENCH_RUNS give the defaults of --size,
--target and --runs (the Makefile's BENCH_RUNS goes through --runs).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench.batch.sizes import SIZES, default_work_dir, prepare_data
from bench.batch.steps import TARGETS
from ingest.paths import project_root


def build_parser() -> argparse.ArgumentParser:
    """`python -m bench --size S|M|L --target spark|spark_thrift|postgres [--runs N]`."""
    bench = argparse.ArgumentParser(
        prog="python -m bench",
        description="Generate a size once (fixed seed) under <state>/bench/<size>, then time "
                    "stage + dbt build, the one-more-day incremental run, a scheduled cycle "
                    "with nothing new (cold and warm), bench/batch/baseline_etl.py (PySpark) and "
                    "bench/batch/baseline_duckdb.py (DuckDB), each run from a fresh state, each "
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
    """Prepare the size only (--prepare-only), or run the whole bench."""
    root = project_root()
    work = args.work or default_work_dir(args.size)
    if args.prepare_only:
        started = time.monotonic()
        data = prepare_data(SIZES[args.size], work)
        figures = data.figures
        print(f"size {args.size}: {figures.song_files:,} song files, {figures.log_files} log "
              f"files ({figures.events:,} events in the source, {figures.extra_day_events:,} "
              f"on the extra day), {figures.source_bytes / 1e6:,.1f} MB in {data.source} "
              f"({time.monotonic() - started:.1f} s)")
        return 0
    from bench.batch.run import run_bench  # psutil, duckdb and matplotlib: the bench extra

    run_bench(args.size, args.target, args.runs,
              out_dir=args.out or root / "bench" / "results",
              markdown=args.markdown or root / "BENCHMARKS.md",
              work=work, keep_state=args.keep_state)
    return 0
