"""Whether the marts are built from everything staged: idle cycles skip the build.

A marker file per (target, raw schema, marts schema) in the state folder says "the last
build finished after the last stage that changed rows", and holds a fingerprint of the dbt
project it was built with. A stage that changes rows removes it before the build starts; a
successful build writes it back. So a cycle skips `dbt build` only when nothing changed
since a build that succeeded, with the same project: a failed or interrupted build is always
retried, and a changed model, macro, seed or test is built at the next cycle, even when
the stage finds nothing new.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ingest.paths import StatePaths, project_root
from ingest.raw.contract import validate_schema_name

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
        """The last build succeeded, nothing was staged since, and the project is the one
        it was built with."""
        try:
            recorded = self.path.read_text(encoding="utf-8").split()
        except OSError:
            return False
        return recorded[-1:] == [project_fingerprint()]

    def invalidate(self) -> None:
        """New rows were staged: the marts are behind until a build succeeds."""
        self.path.unlink(missing_ok=True)

    def record_built(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text("the marts were built from everything staged, with project "
                             f"{project_fingerprint()}\n", encoding="utf-8")
        os.replace(temporary, self.path)


# What a build's result depends on besides the staged rows: the dbt project's own files.
PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "seeds", "tests/dbt")


def project_fingerprint(project: Path | None = None) -> str:
    """A digest of the dbt project's files (names and contents): it changes when a model,
    macro, seed or dbt test changes, and only then."""
    project = project or project_root()
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        root = project / part
        files = [root] if root.is_file() else sorted(
            path for path in root.rglob("*") if path.is_file()
            and "__pycache__" not in path.parts)
        for path in files:
            digest.update(path.relative_to(project).as_posix().encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


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
    if marker.is_current():
        return False
    if marker.path.is_file():
        log.info("the dbt project changed since the last successful build: building it")
    return True
