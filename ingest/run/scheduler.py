"""`python -m ingest run --every 10m`: stage what is new, then `dbt build`, again and again.

A file lock makes sure two cycles never overlap (a second scheduler, or a cron line firing
while the last cycle still runs, skips its turn). A failed cycle is logged and the loop goes
on: what it did not load stays new (or pending) in the ledger and is retried next time.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from ingest.errors import IngestError
from ingest.locks import try_lock
from ingest.paths import StatePaths, project_root
from ingest.raw.contract import RAW_TABLES
from ingest.run.dbt import DbtVars, ParsedProject, Schemas
from ingest.stage.dispatch import StageRequest
from ingest.stage.ledger_mark import LedgerMark

log = logging.getLogger(__name__)
_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")


@dataclass(frozen=True)
class CycleConfig:
    """What each cycle stages (resolved at the CLI edge), the marts schema it builds and the
    dbt project it builds (default: the package's parent, else the cwd). The schema names
    are checked here, before any cycle runs. Its cycles share one kept parse of the project
    (ParsedProject)."""

    stage: StageRequest
    schema: str
    project: Path = field(default_factory=project_root)
    parsed: ParsedProject = field(default_factory=ParsedProject, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.builder()  # checks both schema names

    @property
    def state(self) -> StatePaths:
        return self.stage.state

    def builder(self) -> Builder:
        return Builder(self.project, self.stage.target,
                       Schemas(self.stage.raw_schema, self.schema), self.parsed)


def parse_interval(text: str) -> float:
    """`90`, `90s`, `10m`, `1h` → seconds."""
    match = _INTERVAL.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise IngestError(f"--every {text!r}: use a positive number of s, m or h (e.g. 10m)")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


@contextmanager
def cycle_lock(path: Path) -> Iterator[bool]:
    """Hold the scheduled-cycle lock if nobody else does; yield whether we got it."""
    with try_lock(path, "a scheduled cycle") as acquired:
        yield acquired


def run_cycle(config: CycleConfig) -> bool:
    """Stage the source for the target, then build the project incrementally.

    When the stage changed no rows and the last build succeeded, nothing is built (an idle
    cycle costs a listing); the result says whether a build ran.
    """
    from ingest.run.builds import build_target
    from ingest.stage.dispatch import stage_target

    outcome = stage_target(config.stage)
    return build_after(config.builder(), outcome.state,
                       build_target(outcome.state, outcome.warehouse), outcome,
                       outcome.ledger_mark, before_build=size_before_build(config))


def size_before_build(config: CycleConfig) -> Callable[[], None] | None:
    """On the embedded Spark: before a build, the process's session takes the small-input
    settings while the state is small, Spark's own once it is not (ingest.spark.small_inputs);
    decided at each build, as a scheduled loop's state grows."""
    if config.stage.target != "spark":
        return None

    def size() -> None:
        from ingest.spark.session import spark_session
        from ingest.spark.small_inputs import use_small_inputs

        stage = config.stage
        session = stage.spark  # the session handed to the cycles, else the process's own
        if session is None and stage.spark_setup is not None:
            session = spark_session(stage.state, stage.spark_setup)
        if session is not None:
            use_small_inputs(session, stage.state)
    return size


class Staged(Protocol):
    """What a stage (or a stream's micro-batch) changed: whether rows did, and on which UTC
    days (None: not bound to days)."""

    @property
    def rows_changed(self) -> bool: ...

    def changed_days(self) -> frozenset[dt.date] | None: ...

    def pruned_days(self) -> frozenset[dt.date] | None: ...


@dataclass(frozen=True)
class Builder:
    """Where the builds run: the dbt project, its target, the schemas they read and write;
    `parsed`: the parse of the project a long-lived process keeps between its builds (None:
    dbt parses at each build)."""

    project: Path
    target: str
    schemas: Schemas
    parsed: ParsedProject | None = field(default=None, compare=False, repr=False)


def build_after(builder: Builder, state: StatePaths, where: str, staged: Staged | None,
                ledger_mark: LedgerMark, before_build: Callable[[], None] | None = None) -> bool:
    """The build step after a stage: `dbt build` unless the ledger holds what the last
    successful build with this project read; the result says whether a build ran.

    The ledger's mark is taken before the build starts and recorded when it succeeds: rows
    a stage commits while the build runs change the ledger after the mark, so the next
    cycle builds them (a marker saying only "built" would hide them). `before_build` runs
    just before a build, when one runs."""
    from ingest.ledger.store import changed_tables
    from ingest.run.builds import BuildMarker, PrunedDays, needs_build
    from ingest.run.project_files import project_fingerprint

    raw_schema, schema = builder.schemas.raw, builder.schemas.marts
    marker = BuildMarker.of(state, where, raw_schema, schema, builder.project)
    pruned = PrunedDays.of(state, where, raw_schema)
    if staged is not None:
        pruned.add(staged.pruned_days())
    # the last build succeeded with this project: only what was staged since can differ
    built_mark, built_project = marker.recorded()
    built_before = built_project == project_fingerprint(builder.project)
    mark = ledger_mark()
    removing = pruned.pending()  # taken before the build, like the mark
    if (staged is not None and removing == frozenset()
            and not needs_build(marker, staged.rows_changed, mark)):
        log.info("nothing new since the last successful build of %s: no dbt build", schema)
        return False
    if before_build is not None:
        before_build()
    build(builder, staged if built_before else None, removing,
          changed_tables(built_mark, mark) if built_before else None)
    marker.record_built(mark)
    pruned.built(removing)
    return True


# left out of a build that follows a successful one with the same project: unit tests check
# SQL logic that has not changed, and the seed's table already holds the same rows
UNCHANGED_PROJECT_EXCLUDES = ("--exclude-resource-type", "unit_test", "seed")
# the dbt source of the raw tables (models/staging/sparkify/_sparkify__sources.yml)
RAW_SOURCE = "sparkify"


def changed_lineage(changed: frozenset[str] | None) -> list[str]:
    """The `--select` of a build after a successful one with the same project, when only
    some raw tables changed since (`changed`, ingest.ledger.store.changed_tables): the
    models that read them and every test of those models. The others read only what did
    not change: their tables hold what they would build. [] (everything) when unknown, when
    no table or every table changed, or when a table is not one the project knows."""
    if not changed or not changed < frozenset(RAW_TABLES):
        return []
    return ["--select", *(f"source:{RAW_SOURCE}.{table}+" for table in sorted(changed))]


def build(builder: Builder, report: Staged | None,
          pruned: frozenset[dt.date] | None = frozenset(),
          changed: frozenset[str] | None = None) -> None:
    """`dbt build` of what the stage changed, when only that can have changed since the
    last successful build with the same project (`report`; else None: the full build):
    unit tests and seeds left out, only what reads the raw tables that changed since
    (`changed`, changed_lineage; var changed_raw_tables), data tests scoped to the days the
    stage changed (var test_days, macros/testing/test_days.sql), or all of them when no log
    day changed.
    The `pruned` days (ingest.run.builds.PrunedDays) are removed from the marts first."""
    from ingest.run.dbt import run_dbt

    variables = DbtVars(builder.schemas, pruned_days=pruned)
    if pruned:
        log.info("removing the days stage --prune emptied from the marts: %s",
                 ", ".join(day.isoformat() for day in sorted(pruned)))
    elif pruned is None:
        log.info("a pruned log object had no date in its name: rebuilding every day")
    if report is None:
        run_dbt(builder.project, ["build"], builder.target, variables, builder.parsed)
        return
    args = ["build", *UNCHANGED_PROJECT_EXCLUDES]
    log.info("unit tests and seeds left out: the project is the one last built")
    # the models skip the work of tables that did not change (a song match, when no song did)
    variables = replace(variables, changed_tables=changed)
    lineage = changed_lineage(changed)
    if lineage:
        log.info("models and tests of this build: those that read %s, the only raw "
                 "table(s) changed since the last build", ", ".join(sorted(changed or ())))
        args += lineage
    days = report.changed_days()
    if days:
        tested = days | (pruned or frozenset())
        log.info("data tests of this build: the rebuilt days %s",
                 ",".join(day.isoformat() for day in sorted(tested)))
        variables = replace(variables, test_days=tested)
    run_dbt(builder.project, args, builder.target, variables, builder.parsed)


def run_every(config: CycleConfig, every: float, *, cycles: int | None = None,
              after_cycle: Callable[[int, bool], None] | None = None,
              idle_exit_code: int = 0) -> int:
    """Run cycles `every` seconds apart (`cycles` times, or forever); 1 if the last failed,
    `idle_exit_code` if it built nothing (nothing new since the last successful build)."""
    lock = config.state.root / "run.lock"
    number = 0
    ok = built = True
    while cycles is None or number < cycles:
        number += 1
        started = time.monotonic()
        with cycle_lock(lock) as acquired:
            if not acquired:
                log.warning("cycle %d skipped: another cycle holds %s", number, lock)
                ok = False
            else:
                ok, built = _guarded_cycle(config, number)
        if after_cycle is not None:
            after_cycle(number, ok)
        if cycles is not None and number >= cycles:
            break
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    if not ok:
        return 1
    return 0 if built else idle_exit_code


def _guarded_cycle(config: CycleConfig, number: int) -> tuple[bool, bool]:
    """Whether the cycle succeeded, and whether it ran a build."""
    log.info("cycle %d: staging %s for %s", number, config.stage.source.uri,
             config.stage.target)
    started = time.monotonic()
    try:
        built = run_cycle(config)
    except IngestError as exc:
        log.error("cycle %d failed after %.0f s: %s; the next cycle retries", number,
                  time.monotonic() - started, exc)
        return False, False
    except Exception:
        log.exception("cycle %d failed with an unexpected error; the next cycle retries",
                      number)
        return False, False
    log.info("cycle %d done in %.0f s", number, time.monotonic() - started)
    return True, built
