"""Whether the marts are built from everything staged: idle cycles skip the build.

A marker file per (target, raw schema, marts schema) in the state folder says "the last
build finished after the last stage that changed rows". A stage that changes rows removes
it before the build starts; a successful build writes it back. So a cycle skips `dbt build`
only when nothing changed since a build that succeeded: a failed or interrupted build is
always retried, even when the next stage finds nothing new.
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ingest.paths import StatePaths
from ingest.raw_format import validate_schema_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildMarker:
    path: Path

    @classmethod
    def of(cls, state: StatePaths, target: str, raw_schema: str, schema: str) -> BuildMarker:
        validate_schema_name(raw_schema, "raw schema")
        validate_schema_name(schema, "schema")
        name = f"{target.replace('/', '_')}--{raw_schema}--{schema}.built"
        return cls(state.root / "builds" / name)

    def is_current(self) -> bool:
        """The last build succeeded and nothing was staged since."""
        return self.path.is_file()

    def invalidate(self) -> None:
        """New rows were staged: the marts are behind until a build succeeds."""
        self.path.unlink(missing_ok=True)

    def record_built(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text("the marts were built from everything staged\n",
                             encoding="utf-8")
        os.replace(temporary, self.path)


def spark_target(state: StatePaths) -> str:
    """The marker name of the embedded Spark warehouse of a state folder."""
    return f"spark@{state.spark}"


def postgres_target(host: str, port: int | str, database: str) -> str:
    return f"postgres@{host}:{port}/{database}"


def staged_by_hand(state: StatePaths, target: str, raw_schema: str) -> None:
    """A stage outside a cycle changed rows of `raw_schema`: every marts schema built from
    it is behind, so the next cycle builds even though it finds nothing new to stage."""
    validate_schema_name(raw_schema, "raw schema")
    pattern = f"{glob.escape(target.replace('/', '_'))}--{raw_schema}--*.built"
    for path in (state.root / "builds").glob(pattern):
        log.info("%s is behind the rows just staged: the next cycle builds", path.stem)
        path.unlink(missing_ok=True)


def needs_build(marker: BuildMarker, rows_changed: bool) -> bool:
    """Whether to build now; invalidates the marker when the stage changed rows."""
    if rows_changed:
        marker.invalidate()
        return True
    return not marker.is_current()
