"""Slim CI (`make ci-slim`): a change to one staging model selects that model and its
descendants, and nothing else; built with `--defer`, the rest is read from production.

`dbt ls --select state:modified+ --state <production manifest>` runs on temporary copies of
the project (no warehouse). The last test builds for real on PostgreSQL: production first,
then the change alone in a CI schema.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from ingest.run.dbt import run_dbt
from tests.support.ci_project import DBT_FILES, copy_project, edit, ls, parse
from tests.support.manifest import Manifest
from tests.support.project import FIXTURES, postgres_rows
from tests.support.staging import stage_postgres

pytestmark = pytest.mark.dbt

CHANGED_MODEL = "models/staging/sparkify/stg_sparkify__songs.sql"
# Same values, new SQL: a real change to review, and marts that still reconcile.
CHANGE = ("nullif(year, 0) as release_year",
          "case when year <> 0 then year end as release_year")
# stg_sparkify__songs and everything downstream of it.
EXPECTED_MODELS = {
    "stg_sparkify__songs",
    "int_artists__first_known_attributes",
    "int_songplays__matched_to_songs",
    "dim_artists",
    "dim_songs",
    "fct_songplays",
    "dim_time",
}
UNTOUCHED_MODELS = {
    "stg_sparkify__events",
    "int_events__deduplicated",
    "int_users__latest_attributes",
    "dim_users",
}


def _expected_selection(manifest: Manifest) -> dict[str, str]:
    """What state:modified+ must select, derived from the production manifest: the models
    above, and every test, unit test and exposure that depends on one of them (dbt's eager
    indirect selection of tests; `dbt ls` and `dbt build` leave analyses out)."""
    models = {str(node["unique_id"]) for node in manifest.models
              if node["name"] in EXPECTED_MODELS}
    selected = {unique_id: "model" for unique_id in models}
    dependents: list[dict[str, Any]] = [
        *manifest.tests, *manifest.exposures,
        *manifest.data.get("unit_tests", {}).values(),
    ]
    for node in dependents:
        if set(node.get("depends_on", {}).get("nodes", [])) & models:
            selected[str(node["unique_id"])] = str(node["resource_type"])
    return selected


@pytest.fixture(scope="module")
def slim_projects(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Manifest]:
    """(production copy, its state folder, its manifest); the change is made per test."""
    production = copy_project(tmp_path_factory.mktemp("production"), DBT_FILES)
    state = production / "prod-artifacts"
    return production, state, parse(production, state)


def _ci_copy(production: Path, destination: Path) -> Path:
    shutil.copytree(production, destination,
                    ignore=shutil.ignore_patterns("target", "prod-artifacts", "logs"))
    return destination


def test_unchanged_project_selects_nothing(
    slim_projects: tuple[Path, Path, Manifest], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CI run in another schema is not a change: only the SQL/YAML counts."""
    production, state, _ = slim_projects
    ci = _ci_copy(production, tmp_path / "ci")
    monkeypatch.setenv("SPARKIFY_SCHEMA", "ci_pr_1")
    assert ls(ci, "--select", "state:modified+", "--state", str(state)) == {}


def test_changing_a_staging_model_selects_it_and_its_descendants_only(
    slim_projects: tuple[Path, Path, Manifest], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    production, state, manifest = slim_projects
    ci = _ci_copy(production, tmp_path / "ci")
    edit(ci / CHANGED_MODEL, *CHANGE)
    monkeypatch.setenv("SPARKIFY_SCHEMA", "ci_pr_1")

    modified = ls(ci, "--select", "state:modified", "--state", str(state),
                  "--resource-type", "model")
    assert modified == {"model.sparkify.stg_sparkify__songs": "model"}

    selected = ls(ci, "--select", "state:modified+", "--state", str(state))
    assert {uid.rsplit(".", 1)[-1] for uid, kind in selected.items() if kind == "model"} == (
        EXPECTED_MODELS)
    assert selected == _expected_selection(manifest)
    assert not any(uid.endswith(f".{name}") for uid in selected for name in UNTOUCHED_MODELS)
    assert "seed.sparkify.us_states" not in selected
    # the tests that come along include the matching unit tests and the reconciliation
    assert set(selected.values()) == {"model", "test", "unit_test", "exposure"}
    assert "test.sparkify.assert_songplays_reconcile_with_raw_events" in selected


def test_slim_build_on_postgres_builds_the_change_and_defers_the_rest(
    slim_projects: tuple[Path, Path, Manifest], tmp_path: Path, pg_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    production, _, _ = slim_projects
    stage_postgres(str(FIXTURES / "raw_handwritten"), schema="sparkify_raw")

    # production: the whole project, in schema `sparkify`; its manifest is the state
    production_target = tmp_path / "production-target"
    monkeypatch.setenv("SPARKIFY_SCHEMA", "sparkify")
    run_dbt(production, ["build", "--target-path", str(production_target)], target="postgres")

    # the pull request: one staging model changed, built in schema `ci_pr`
    ci = _ci_copy(production, tmp_path / "ci")
    edit(ci / CHANGED_MODEL, *CHANGE)
    monkeypatch.setenv("SPARKIFY_SCHEMA", "ci_pr")
    results = run_dbt(ci, ["build", "--select", "state:modified+", "--defer",
                           "--state", str(production_target),
                           "--target-path", str(tmp_path / "ci-target")], target="postgres")

    built = {str(result.node.name) for result in results.results
             if str(result.node.resource_type) == "model"}
    assert built == EXPECTED_MODELS
    statuses = {(str(result.node.name), str(result.status)) for result in results.results}
    assert {status for _, status in statuses} <= {"success", "pass", "no-op"}, statuses

    tables = postgres_rows(pg_database, """
        select table_schema, table_name from information_schema.tables
        where table_schema like 'ci_pr%' order by 1, 2""")
    assert {row["table_name"] for row in tables} == EXPECTED_MODELS
    assert {row["table_schema"] for row in tables} == {
        "ci_pr", "ci_pr_staging", "ci_pr_intermediate"}
    # deferred: the CI fact was built from production's deduplicated events, and agrees
    for mart in ("fct_songplays", "dim_songs", "dim_time"):
        counts = postgres_rows(pg_database, f"""
            select (select count(*) from ci_pr.{mart}) as ci,
                   (select count(*) from sparkify.{mart}) as production""")[0]
        assert counts["ci"] == counts["production"] > 0, (mart, counts)
