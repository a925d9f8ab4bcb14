"""`dev`: the dev loop on a warm engine (ingest.dev.engine): `dbt build` on the embedded
Spark, then again at every change of the dbt project, all in one process and one JVM."""

from __future__ import annotations

import argparse
import logging

from ingest.errors import EXIT_CYCLE_FAILED, EXIT_OK
from ingest.paths import dbt_target_dir, project_root
from ingest.run.commands import add_schema_option
from ingest.settings import ProjectSettings, ReportSettings, RunSettings, StageSettings
from ingest.stage.commands import add_raw_schema_option

log = logging.getLogger(__name__)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `dev`."""
    dev = commands.add_parser(
        "dev", help="the dev loop: dbt build on a warm Spark JVM, again at each change of "
                    "the dbt project (models, macros, seeds, tests)",
        description="Build the dbt project on the embedded Spark, then watch it: each change "
                    "of a model, macro, seed, test or dbt_project.yml builds again in the same "
                    "process and JVM, so only the first build pays Spark's start-up. Stop with "
                    "Ctrl-C. The state folder's embedded Spark is this command's while it runs "
                    "(a `run` or `stream` on it waits).")
    dev.add_argument("-s", "--select", nargs="+", default=(),
                     help="dbt build's --select (default: the whole project)")
    dev.add_argument("--exclude", nargs="+", default=(), help="dbt build's --exclude")
    dev.add_argument("--builds", type=_count, default=None, metavar="N",
                     help="build N times, one after the other, then exit (no watching)")
    add_raw_schema_option(dev, StageSettings.read())
    add_schema_option(dev, RunSettings.read())
    dev.set_defaults(handler=cmd_dev)


def _count(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return number


def cmd_dev(args: argparse.Namespace) -> int:
    from ingest.dev.engine import WarmEngine
    from ingest.dev.watch import ProjectWatch
    from ingest.run.dbt import DbtVars, Schemas
    from ingest.spark.commands import resolved

    state, setup = resolved()
    root = project_root(ProjectSettings.read().project_dir)
    target = dbt_target_dir(ReportSettings.read().target_path, root)
    dbt_args = ["--target-path", str(target), "--log-path", str(target.parent / "logs")]
    dbt_args += ["--select", *args.select] if args.select else []
    dbt_args += ["--exclude", *args.exclude] if args.exclude else []
    engine = WarmEngine(state, setup, root, dbt_args,
                        DbtVars(Schemas(args.raw_schema, args.schema)))
    watch = ProjectWatch(root)
    last = None
    while args.builds is None or engine.builds < args.builds:
        watch.mark_built()
        last = engine.build()
        (log.info if last.succeeded else log.warning)("%s", last.describe())
        if args.builds is None:
            log.info("watching %s for changes (Ctrl-C stops)", root)
            watch.wait_for_change()
    return EXIT_OK if last is not None and last.succeeded else EXIT_CYCLE_FAILED
