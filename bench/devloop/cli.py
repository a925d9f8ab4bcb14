"""`python -m bench.devloop`: the argument parser and the command."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
from pathlib import Path

from ingest.paths import StatePaths, project_root
from ingest.settings import ProjectSettings

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.devloop",
        description="Stage the `make run` sample into a fresh state, then time `dbt build` "
                    "cold (a new dbt process and JVM, twice), on the warm engine (`python -m "
                    "ingest dev`: six builds in one process and JVM) and on a Thrift Server "
                    "(twice): wall and CPU seconds, per node, SQL statements. Writes "
                    "<out>/<date>-devloop.json and the devloop section of BENCHMARKS.md.")
    parser.add_argument("--work", type=Path, default=None,
                        help="sample, state and build folders (default <state>/bench/devloop)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default <project>/bench/results/devloop)")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="the markdown file to update (default <project>/BENCHMARKS.md)")
    parser.add_argument("--no-warm", dest="warm", action="store_false",
                        help="no builds on the warm engine")
    parser.add_argument("--no-thrift", dest="thrift", action="store_false",
                        help="no builds on a Thrift Server")
    parser.add_argument("--select", nargs="+", default=(),
                        help="dbt build's --select (default: everything)")
    parser.add_argument("--cold-runs", type=int, default=2,
                        help="cold builds, one after the other (default 2; the last is the "
                             "figure)")
    parser.add_argument("--reuse-stage", dest="restage", action="store_false",
                        help="build on the state an earlier run staged (to compare settings)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.set_defaults(handler=cmd_devloop)
    return parser


def cmd_devloop(args: argparse.Namespace) -> int:
    from bench.common.machine import load_average, machine
    from bench.devloop.report import write_json, write_markdown
    from bench.devloop.run import run_devloop

    root = project_root()
    started = machine()
    select = ("--select", *args.select) if args.select else ()
    default_work = StatePaths.of(ProjectSettings.read()).root / "bench" / "devloop"
    loop = run_devloop(args.work or default_work,
                       warm=args.warm, thrift=args.thrift, select=select,
                       cold_runs=max(1, args.cold_runs),
                       restage=args.restage)
    ended = dataclasses.replace(started, load_average_at_end=load_average())
    today = dt.datetime.now(dt.UTC).date()
    path = write_json(loop, ended, args.out or root / "bench" / "results" / "devloop", today)
    write_markdown(loop, ended, args.markdown or root / "BENCHMARKS.md", today)
    log.info("dev loop figures in %s", path)
    return 0
