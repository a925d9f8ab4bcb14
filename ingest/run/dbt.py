"""Run dbt in this process (so the session-mode Spark JVM is shared with the ingest)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import IngestError

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


def run_dbt(project_dir: Path, args: list[str], target: str | None = None) -> Any:
    """`dbt <args>` against this project; IngestError when dbt reports a failure."""
    from dbt.cli.main import dbtRunner

    full = [*args, "--project-dir", str(project_dir),
            "--profiles-dir", str(project_dir / "profiles")]
    if target:
        full += ["--target", target]
    log.info("dbt %s", " ".join(args))
    result = dbtRunner().invoke(full)
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
