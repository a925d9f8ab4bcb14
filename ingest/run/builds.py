"""Whether the marts are built from everything staged: idle cycles skip the build.

A marker file per (target, raw schema, marts schema) in the state folder records what the
last successful build read: the ledger mark taken before it started (a digest of what the
ledger says the raw tables hold, ingest.stage.ledger_mark), and a fingerprint of the dbt
project it was built with. A cycle skips `dbt build` only when the ledger still has that
mark and the project is the same: a stage committed while a build ran (another process, an
Airflow DAG overlapping the scheduler) changed the ledger after the mark was taken, so the
next cycle builds it; a failed or interrupted build writes no marker and is retried; a
changed model, macro, seed or test is built at the next cycle, even when nothing is new.
"""

from __future__ import annotations

import datetime as dt
import glob
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.locks import exclusive
from ingest.paths import StatePaths
from ingest.raw.contract import validate_schema_name
from ingest.run.dbt import DbtVars
from ingest.run.project_files import project_fingerprint

if TYPE_CHECKING:
    from ingest.warehouse import ConnectionSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildMarker:
    """What the last successful build of `project` into one target and schema read."""

    path: Path
    project: Path

    @classmethod
    def of(cls, state: StatePaths, target: str, raw_schema: str, schema: str,
           project: Path) -> BuildMarker:
        validate_schema_name(raw_schema, "raw schema")
        validate_schema_name(schema, "schema")
        name = f"{target.replace('/', '_')}--{raw_schema}--{schema}.built"
        return cls(state.root / "builds" / name, project)

    def recorded(self) -> tuple[str | None, str | None]:
        """The ledger mark and the project fingerprint the last successful build recorded
        (None for what the marker does not say)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return None, None
        match = _RECORD.search(text)
        if match:
            return match.group(1), match.group(2)
        words = text.split()  # a marker from before ledger marks: a project only
        return None, (words[-1] if words else None)

    def is_current(self, mark: str) -> bool:
        """The last build succeeded, it read the ledger as it is now (`mark`), and the
        project is the one it was built with."""
        return self.recorded() == (mark, project_fingerprint(self.project))

    def invalidate(self) -> None:
        """New rows were staged: the marts are behind until a build succeeds."""
        self.path.unlink(missing_ok=True)

    def record_built(self, mark: str) -> None:
        """A build succeeded, having read the ledger as `mark` says (taken before it began)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(f"the marts were built from the ledger state {mark}, "
                             f"with project {project_fingerprint(self.project)}\n",
                             encoding="utf-8")
        os.replace(temporary, self.path)


_RECORD = re.compile(r"ledger state (\S+), with project (\S+)")


# A pruned log object whose name holds no date: its rows may have been on any day.
EVERY_DAY = "every-day"


@dataclass(frozen=True)
class PrunedDays:
    """The days whose log objects a stage pruned (`--prune`), until a build removed them
    from the marts: the incremental models replace only the days their new rows cover, so
    a day emptied in the raw table keeps its plays unless the build is told (var
    `pruned_days`, macros/incremental/pruned_days.sql). One file per (target, raw schema),
    so a stage by hand, a cycle's stage and a build in another process all see it (under
    its own lock)."""

    path: Path

    @classmethod
    def of(cls, state: StatePaths, target: str, raw_schema: str) -> PrunedDays:
        validate_schema_name(raw_schema, "raw schema")
        return cls(state.root / "builds" / f"{target.replace('/', '_')}--{raw_schema}.pruned")

    def add(self, days: frozenset[dt.date] | None) -> None:
        """Record `days` (None: some day unknown, so every day) as pruned."""
        if days is not None and not days:
            return
        added = [EVERY_DAY] if days is None else [day.isoformat() for day in sorted(days)]
        with self._locked():
            self._write(self._read() | set(added))
        log.info("the next build removes the pruned days from the marts: %s",
                 ", ".join(added))

    def pending(self) -> frozenset[dt.date] | None:
        """The days no build has removed yet (None: every day, a full refresh)."""
        with self._locked():
            recorded = self._read()
        if EVERY_DAY in recorded:
            return None
        return frozenset(dt.date.fromisoformat(day) for day in recorded)

    def built(self, days: frozenset[dt.date] | None) -> None:
        """A build removed `days` (None: rebuilt everything); days pruned since stay."""
        done = None if days is None else {day.isoformat() for day in days}
        with self._locked():
            recorded = self._read()
            self._write(set() if done is None else recorded - done)

    def _locked(self) -> Any:
        return exclusive(self.path.with_suffix(".lock"), "a change of the pruned days",
                         wait=True)

    def _read(self) -> set[str]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return set()
        return {line for line in lines if line == EVERY_DAY or _is_date(line)}

    def _write(self, days: set[str]) -> None:
        if not days:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text("".join(f"{day}\n" for day in sorted(days)), encoding="utf-8")
        os.replace(temporary, self.path)


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def pruned_days_args(days: frozenset[dt.date] | None) -> list[str]:
    """The dbt arguments that remove pruned days from the marts: the var the day models
    read, or a full refresh when some day is unknown (for a dbt call of its own)."""
    return DbtVars(pruned_days=days).args()


def spark_target(state: StatePaths) -> str:
    """The marker name of the embedded Spark warehouse of a state folder."""
    return f"spark@{state.spark}"


def postgres_target(host: str, port: int | str, database: str) -> str:
    return f"postgres@{host}:{port}/{database}"


def build_target(state: StatePaths, warehouse: ConnectionSettings | None) -> str:
    """The marker name of where dbt reads a stage's raw tables: the warehouse (None: the
    embedded Spark's of `state`)."""
    if warehouse is None:
        return spark_target(state)
    return postgres_target(warehouse.host, warehouse.port, warehouse.database)


def staged_by_hand(state: StatePaths, target: str, raw_schema: str) -> None:
    """A stage outside a cycle changed rows of `raw_schema`: every marts schema built from
    it is behind, so the next cycle builds even though it finds nothing new to stage."""
    validate_schema_name(raw_schema, "raw schema")
    pattern = f"{glob.escape(target.replace('/', '_'))}--{raw_schema}--*.built"
    for path in (state.root / "builds").glob(pattern):
        log.info("%s is behind the rows just staged: the next cycle builds", path.stem)
        path.unlink(missing_ok=True)


def needs_build(marker: BuildMarker, rows_changed: bool, mark: str) -> bool:
    """Whether to build now, the ledger's mark being `mark`; invalidates the marker when
    the stage changed rows."""
    if rows_changed:
        marker.invalidate()
        return True
    if marker.is_current(mark):
        return False
    built_from, project = marker.recorded()
    current = project_fingerprint(marker.project)
    if project == current and built_from is not None:
        log.info("rows were staged since the last successful build read the raw tables "
                 "(ledger %s, now %s): building them", built_from, mark)
    elif marker.path.is_file() and project != current:
        log.info("the dbt project changed since the last successful build: building it")
    return True
