"""The parse a long-lived process keeps between its builds (ingest.run.dbt.ParsedProject):
kept whatever days a build hands dbt, parsed again when the project's files, the target or
another var change. dbt parses only: no database, no JVM."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ingest.run.dbt import DbtVars, ParsedProject, Schemas
from tests.support.project import copy_project

pytestmark = pytest.mark.dbt

DAY = dt.date(2018, 11, 3)


def _sql(manifest: Any, model: str) -> str:
    nodes = manifest.nodes
    return str(nodes[f"model.sparkify.{model}"].raw_code)


def test_a_kept_parse_holds_for_any_days_and_follows_the_project(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", "profiles")
    parsed = ParsedProject()
    schemas = Schemas("sparkify_raw", "sparkify")
    first = parsed.manifest(project, "postgres", DbtVars(schemas))
    later_days = DbtVars(schemas, test_days=frozenset({DAY}), pruned_days=frozenset({DAY}))
    assert parsed.manifest(project, "postgres", later_days) is first
    assert parsed.manifest(project, "postgres", DbtVars(schemas, pruned_days=None)) is first

    other_schema = parsed.manifest(project, "postgres", DbtVars(Schemas("sparkify_raw", "b")))
    assert other_schema is not first
    assert other_schema.nodes["model.sparkify.dim_users"].schema == "b"
    other_target = parsed.manifest(project, "spark", DbtVars(Schemas("sparkify_raw", "b")))
    assert other_target is not other_schema

    model = project / "models" / "marts" / "dim_users.sql"
    model.write_text(model.read_text(encoding="utf-8") + "-- edited\n", encoding="utf-8")
    edited = parsed.manifest(project, "spark", DbtVars(Schemas("sparkify_raw", "b")))
    assert edited is not other_target
    assert "-- edited" in _sql(edited, "dim_users")
    assert "-- edited" not in _sql(other_target, "dim_users")
