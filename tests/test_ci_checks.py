"""`make ci`'s checks: they pass on the project, and fail, saying what is wrong, on a copy of
the project with one thing broken (undocumented column, no key test, lint violation, mart
reading a source, hard-coded table, source without freshness, misplaced model).

Nothing here needs Spark or a warehouse: `dbt parse` and sqlfluff's jinja templater only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci import check_coverage, check_structure, lint_sql
from ci.artifacts import Manifest

from .ci_project import copy_project, edit, parse
from .conftest import PROJECT_DIR

pytestmark = pytest.mark.dbt


def _edit_yaml(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")


def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(item for item in items if item["name"] == name)


def _run(main: Callable[[list[str]], int], args: list[str],
         capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """A check's main() and what it printed (dbt's own output before it is dropped)."""
    capsys.readouterr()
    code = main(args)
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def project_manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return parse(PROJECT_DIR, tmp_path_factory.mktemp("ci_parse") / "target")


def test_coverage_passes_on_the_project(project_manifest: Manifest) -> None:
    result = check_coverage.check_coverage(project_manifest)
    assert result.passed, "\n".join(map(str, result.problems))
    assert result.problems == []
    models = len(project_manifest.models)
    assert models >= 11
    assert f"key tests {models}/{models} models (100.0%" in result.summary, result.summary


def test_structure_passes_on_the_project(project_manifest: Manifest) -> None:
    problems, summary = check_structure.check_structure(project_manifest)
    assert problems == [], "\n".join(map(str, problems))
    exposures = len(project_manifest.exposures)
    assert exposures >= 3
    assert summary.endswith(f"{exposures} exposures"), summary


def test_every_macro_is_documented(project_manifest: Manifest) -> None:
    """macros/_macros.yml describes every macro of the project (the docs list them)."""
    macros = [macro for macro in project_manifest.data["macros"].values()
              if macro["package_name"] == "sparkify"]
    assert len(macros) >= 20
    assert [str(macro["name"]) for macro in macros if not str(macro["description"]).strip()
            ] == []


def test_sql_lint_passes_on_the_project() -> None:
    passed, text = lint_sql.summarize(lint_sql.lint(PROJECT_DIR))
    assert passed, text


def test_every_mart_description_says_row_grain_and_keys(project_manifest: Manifest) -> None:
    marts = [model for model in project_manifest.models
             if str(model["original_file_path"]).startswith("models/marts/")]
    assert {str(model["name"]) for model in marts} >= {
        "fct_songplays", "dim_users", "dim_songs", "dim_artists", "dim_time"}
    for mart in marts:
        description = str(mart["description"])
        for section in check_coverage.MART_SECTIONS:
            assert section in description, (mart["name"], section)
    fact = _named(marts, "fct_songplays")
    assert "**Matching:**" in fact["description"]
    assert "closest duration wins" in fact["description"]


def test_an_undocumented_column_fails_coverage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")

    def drop_description(document: dict[str, Any]) -> None:
        users = _named(document["models"], "dim_users")
        del _named(users["columns"], "state_name")["description"]

    _edit_yaml(project / "models/marts/_marts__models.yml", drop_description)
    parse(project)

    code, out = _run(check_coverage.main, [str(project / "target/manifest.json")], capsys)
    assert code == 1
    assert "coverage: FAILED" in out
    assert ("dim_users (models/marts/dim_users.sql): column `state_name` of model "
            "`dim_users` has no description") in out
    # and only that
    assert out.count("has no description") == 1


def test_a_model_without_a_key_test_fails_coverage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`not_null` alone is not a key test: `unique` and `not_null` must share a column."""
    project = copy_project(tmp_path / "project")

    def drop_unique(document: dict[str, Any]) -> None:
        users = _named(document["models"], "int_users__latest_attributes")
        _named(users["columns"], "user_id")["data_tests"] = ["not_null"]

    _edit_yaml(project / "models/intermediate/_intermediate__models.yml", drop_unique)
    manifest = parse(project)
    assert not check_coverage.check_coverage(manifest).passed

    code, out = _run(check_coverage.main, [str(project / "target/manifest.json")], capsys)
    assert code == 1
    assert "[key tests]" in out
    assert "model `int_users__latest_attributes` has no primary-key test" in out
    assert "key tests 10/11 models" in out


def test_a_lint_violation_fails_and_make_fix_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    model = "models/marts/dim_users.sql"
    edit(project / model, "    select * from {{ ref('us_states') }}",
         "    SELECT * FROM {{ ref('us_states') }}")

    code, out = _run(lint_sql.main, ["--project-dir", str(project), model], capsys)
    assert code == 1
    assert f"== [{model}] FAIL" in out
    assert "CP01" in out and "Keywords must be lower case" in out
    assert f"sql lint: FAILED. sparksql: 2 violation(s) in {model}; redshift: 2" in out

    code, out = _run(lint_sql.main, ["--fix", "--project-dir", str(project), model], capsys)
    assert code == 0, out
    assert "    select * from {{ ref('us_states') }}" in (project / model).read_text()


def test_a_mart_selecting_from_a_source_fails_structure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    edit(project / "models/marts/dim_songs.sql", "{{ ref('stg_sparkify__songs') }}",
         "{{ source('sparkify', 'song_data') }}")
    parse(project)

    code, out = _run(check_structure.main, [str(project / "target/manifest.json")], capsys)
    assert code == 1
    assert "[layers]" in out
    assert ("dim_songs (models/marts/dim_songs.sql): mart selects from "
            "source.sparkify.sparkify.song_data directly") in out


def test_a_hard_coded_table_fails_structure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    edit(project / "models/staging/sparkify/stg_sparkify__songs.sql",
         "{{ source('sparkify', 'song_data') }}", "sparkify_raw.song_data")
    edit(project / "models/marts/dim_users.sql", "{{ ref('us_states') }}", "us_states")
    parse(project)

    code, out = _run(check_structure.main, [str(project / "target/manifest.json")], capsys)
    assert code == 1
    assert ("`from sparkify_raw.song_data` names a schema-qualified table: reach relations "
            "only through ref() or source()") in out
    assert "staging model selects from no source" in out
    assert "`from us_states` names a project relation directly: use {{ ref('us_states') }}" in out


def test_a_source_without_freshness_or_reason_fails_structure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")

    def drop_config(document: dict[str, Any]) -> None:
        _named(document["sources"][0]["tables"], "song_data").pop("config")

    _edit_yaml(project / "models/staging/sparkify/_sparkify__sources.yml", drop_config)
    parse(project)

    code, out = _run(check_structure.main, [str(project / "target/manifest.json")], capsys)
    assert code == 1
    assert "[freshness]" in out
    assert "sparkify.song_data (models/staging/sparkify/_sparkify__sources.yml)" in out
    assert "freshness_exempt_reason" in out
    assert "sparkify.log_data" not in out


def test_a_model_in_the_wrong_folder_fails_structure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    (project / "models/intermediate/dim_listeners.sql").write_text(
        "select user_id from {{ ref('int_users__latest_attributes') }}\n", encoding="utf-8")
    parse(project)

    code, out = _run(check_structure.main, [str(project / "target/manifest.json")], capsys)
    assert code == 1
    assert "[naming]" in out
    assert "models in models/intermediate/ are named int_*" in out
    assert "a fct_/dim_ model belongs in models/marts/" in out


def test_relations_scanner_ignores_functions_ctes_and_comments() -> None:
    sql = """
    with a as (select * from {{ ref('x') }}),
    b as (
        select extract(hour from a.start_time) as h, trim(both ' ' from a.name) as n
        from a
        inner join raw.log_data as l on true
        left join {{ target.schema }}.events as e on true
        where a.id in (select t.id from "sch"."tbl" as t)
    )
    -- from commented.out
    select * from b
    """
    relations, ctes = check_structure.relations_in(sql)
    assert [relation.text for relation in relations] == [
        "__jinja__", "a", "raw.log_data", "__jinja__.events", "sch.tbl", "b"]
    assert ctes == {"a", "b"}
    assert relations[1].defining == {"b"}


def test_a_cte_named_like_a_model_does_not_hide_a_hard_coded_table() -> None:
    """`us_states as (select * from us_states)` reads the table, not the CTE."""
    manifest = Manifest({"metadata": {"project_name": "p"}, "nodes": {
        "seed.p.us_states": {"unique_id": "seed.p.us_states", "resource_type": "seed",
                             "package_name": "p", "name": "us_states"}}})
    known = check_structure.known_relations(manifest)
    node = {"name": "m", "original_file_path": "models/marts/m.sql", "raw_code": (
        "with us_states as (select * from us_states), b as (select * from us_states)\n"
        "select * from b")}
    problems = check_structure.check_relations(node, known)
    assert [problem.message for problem in problems] == [
        "line 1: `from us_states` names a project relation directly: use "
        "{{ ref('us_states') }}"]
