"""Run dbt in this process (so the session-mode Spark JVM is shared with the ingest).

What the ingest hands on to dbt goes through the invocation, as `--vars` (DbtVars), never
through os.environ: the project reads each with `var('<name>', env_var('SPARKIFY_…', default))`,
so a plain `dbt build` with the variables set still works the same.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import IngestError
from ingest.raw.contract import validate_schema_name
from ingest.run.project_files import project_fingerprint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DbtOutcome:
    """What a `dbt build` did, by kind of node and status."""

    models: int
    seeds: int
    tests_passed: int
    tests_warned: int
    tests_failed: int
    warned: tuple[str, ...] = ()


def _iso(days: frozenset[dt.date]) -> list[str]:
    return [day.isoformat() for day in sorted(days)]


@dataclass(frozen=True)
class Schemas:
    """The schema a build reads the raw tables from and the one it writes the marts to,
    checked (dbt pastes them into its SQL): var raw_schema in the sources (else
    SPARKIFY_RAW_SCHEMA), var schema in profiles/profiles.yml (else SPARKIFY_SCHEMA)."""

    raw: str
    marts: str

    def __post_init__(self) -> None:
        validate_schema_name(self.raw, "raw_schema (SPARKIFY_RAW_SCHEMA)")
        validate_schema_name(self.marts, "schema (SPARKIFY_SCHEMA)")


@dataclass(frozen=True)
class DbtVars:
    """The values dbt gets from the ingest, as one `--vars` (and `--full-refresh`).

    `schemas`: see Schemas; `test_days`: the days a cycle's data tests read
    (macros/testing/test_days.sql); `pruned_days`: the days `stage --prune` emptied, removed
    from the marts first (macros/incremental/pruned_days.sql), None when some day is
    unknown: a full refresh; `changed_tables`: the raw tables whose rows changed since the
    last successful build with the same project (ingest.ledger.store.changed_tables), None
    when unknown (macros/incremental/raw_table_changed.sql).
    """

    schemas: Schemas | None = None
    test_days: frozenset[dt.date] = frozenset()
    pruned_days: frozenset[dt.date] | None = frozenset()
    changed_tables: frozenset[str] | None = None

    def values(self) -> dict[str, str | list[str]]:
        values: dict[str, str | list[str]] = {}
        if self.schemas is not None:
            values |= {"raw_schema": self.schemas.raw, "schema": self.schemas.marts}
        if self.test_days:
            values["test_days"] = _iso(self.test_days)
        if self.pruned_days:
            values["pruned_days"] = _iso(self.pruned_days)
        if self.changed_tables is not None:
            values["changed_raw_tables"] = sorted(self.changed_tables)
        return values

    def args(self) -> list[str]:
        """The dbt arguments: `--vars` with the values given, `--full-refresh` if needed."""
        values = self.values()
        refresh = ["--full-refresh"] if self.pruned_days is None else []
        return [*refresh, *(["--vars", json.dumps(values, sort_keys=True)] if values else [])]


# vars the project reads only while a build executes, never while dbt parses
# (macros/testing/test_days.sql, macros/incremental/pruned_days.sql and
# raw_table_changed.sql): a parse holds whatever their values
EXECUTE_TIME_VARS = frozenset({"test_days", "pruned_days", "changed_raw_tables"})


def parse_vars(variables: DbtVars | None) -> str:
    """The `--vars` a parse for a build handed `variables` depends on: all of them but
    EXECUTE_TIME_VARS, as JSON."""
    values = variables.values() if variables else {}
    return json.dumps({name: value for name, value in values.items()
                       if name not in EXECUTE_TIME_VARS}, sort_keys=True)


@dataclass
class ParsedProject:
    """dbt's parse of the project, kept between the builds of a long-lived process (a stream):
    each build hands dbt new `test_days`, and dbt's partial parsing keys on the command line's
    vars, so each build would parse the whole project again (2-3 s of a stream's cycle,
    BENCHMARKS.md). A build reuses the parse while what it was parsed from is the same: the
    project's files (their fingerprint), the target and every var but EXECUTE_TIME_VARS; else
    it parses first. A process whose settings can change between builds keeps none."""

    _key: tuple[str, ...] | None = None
    _manifest: Any = None

    def manifest(self, project_dir: Path, target: str | None,
                 variables: DbtVars | None) -> Any:
        """The parse for a build of `project_dir` into `target` with `variables`: the kept
        one, or a new `dbt parse` (kept); IngestError when the parse fails."""
        from dbt.cli.main import dbtRunner

        values = parse_vars(variables)
        key = (str(project_dir), project_fingerprint(project_dir), target or "", values)
        if key == self._key:
            return self._manifest
        log.info("dbt parse (kept for the builds that follow)")
        result = dbtRunner().invoke(["parse", "--vars", values,
                                     *_project_args(project_dir, target)])
        if not result.success:
            detail = f": {result.exception}" if result.exception else ""
            raise IngestError(f"`dbt parse` failed{detail} (see the dbt output above)")
        self._key, self._manifest = key, result.result
        return self._manifest


def _project_args(project_dir: Path, target: str | None) -> list[str]:
    return ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir / "profiles"),
            *(["--target", target] if target else [])]


def run_dbt(project_dir: Path, args: list[str], target: str | None = None,
            variables: DbtVars | None = None, parsed: ParsedProject | None = None) -> Any:
    """`dbt <args>` against this project, handed `variables`, on the kept parse `parsed` if
    given (else dbt parses as usual); IngestError when dbt reports a failure."""
    from dbt.cli.main import dbtRunner

    manifest = parsed.manifest(project_dir, target, variables) if parsed else None
    full = [*args, *(variables.args() if variables else []),
            *_project_args(project_dir, target)]
    log.info("dbt %s", " ".join(args))
    result = dbtRunner(manifest=manifest).invoke(full)
    if not result.success:
        detail = f": {result.exception}" if result.exception else ""
        raise IngestError(f"`dbt {' '.join(args)}` failed{detail} (see the dbt output above)")
    return result.result


def summarize_build(results: Any) -> DbtOutcome:
    counts = {"model": 0, "seed": 0, "pass": 0, "warn": 0, "fail": 0}
    warned: list[str] = []
    for item in results.results:
        kind = str(item.node.resource_type)
        status = str(item.status)
        if kind in {"model", "seed"}:
            counts[kind] += 1
        elif kind in {"test", "unit_test"}:
            counts[status if status in {"pass", "warn"} else "fail"] += 1
            if status == "warn":
                warned.append(str(item.node.name))
    return DbtOutcome(counts["model"], counts["seed"], counts["pass"], counts["warn"],
                      counts["fail"], tuple(warned))
