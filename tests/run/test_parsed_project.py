"""The parse a long-lived process keeps between its builds (ingest.run.dbt.ParsedProject):
kept whatever days a build hands dbt, parsed again when the project's files, the target or
another var change. dbt parses only: no database, no JVM; which vars a parse depends on is
checked on generated schemas and days without dbt."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.run.dbt import DbtVars, ParsedProject, Schemas, parse_vars
from tests.support.project import copy_project

DAY = dt.date(2018, 11, 3)

SCHEMA_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,62}", fullmatch=True)
DAY_SETS = st.frozensets(st.dates(dt.date(1970, 1, 1), dt.date(2100, 12, 31)), max_size=40)


@given(raw=SCHEMA_NAMES, marts=SCHEMA_NAMES, test_days=DAY_SETS,
       pruned=st.none() | DAY_SETS, other_marts=SCHEMA_NAMES)
def test_a_parse_depends_on_the_schemas_never_on_the_days(
        raw: str, marts: str, test_days: frozenset[dt.date],
        pruned: frozenset[dt.date] | None, other_marts: str) -> None:
    schemas = Schemas(raw, marts)
    plain = parse_vars(DbtVars(schemas))
    assert parse_vars(DbtVars(schemas, test_days=test_days, pruned_days=pruned)) == plain
    other = parse_vars(DbtVars(Schemas(raw, other_marts), test_days=test_days))
    assert (other == plain) == (other_marts == marts)


def _sql(manifest: Any, model: str) -> str:
    nodes = manifest.nodes
    return str(nodes[f"model.sparkify.{model}"].raw_code)


@pytest.mark.dbt
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
