"""`make check`'s rules: they pass on the project, and fail, saying what is wrong, on a copy
of the project with one thing broken (undocumented column, no key test, mart reading a
source, mis-named or misplaced model, hard-coded table, source without freshness, lint).

The rules are dbt-bouncer's (dbt-bouncer.yml), plus the project's own checks for what
dbt-bouncer has no check for (checks/bouncer/). Nothing here needs Spark or a warehouse:
`dbt parse`, dbt-bouncer and sqlfluff's jinja templater only.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from checks import lint_sql
from tests.support.ci_project import copy_project, edit, parse
from tests.support.project import PROJECT_DIR

pytestmark = pytest.mark.dbt

BOUNCER = str(Path(sys.executable).with_name("dbt-bouncer"))


def _edit_yaml(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")


def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(item for item in items if item["name"] == name)


def rules(project: Path) -> tuple[int, str]:
    """`dbt parse` then dbt-bouncer on `project`, as `make rules` runs them: exit code and
    what it printed (wide, so that messages are not wrapped)."""
    parse(project, project / "target" / "check")
    done = subprocess.run([BOUNCER, "run", "--config-file", "dbt-bouncer.yml"], cwd=project,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1"})
    return done.returncode, done.stdout + done.stderr


def _failures(out: str) -> list[str]:
    """The failed checks' rows: `check name:index:node | file | severity | message`."""
    rows = (" ".join(line.split()) for line in out.splitlines())
    return [row for row in rows if row.startswith("│ check_") and "│ ERROR │" in row]


def test_rules_pass_on_the_project(tmp_path: Path) -> None:
    code, out = rules(copy_project(tmp_path / "project"))
    assert code == 0, out
    assert "All checks passed" in out
    # every configured rule ran, the project's own ones included
    for own in ("check_model_has_primary_key_test", "check_source_freshness_or_exempt_reason",
                "check_model_reads_project_relations_through_ref",
                "check_source_columns_described"):
        assert own in (PROJECT_DIR / "dbt-bouncer.yml").read_text(encoding="utf-8")


def test_an_undocumented_column_fails(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")

    def drop_description(document: dict[str, Any]) -> None:
        users = _named(document["models"], "dim_users")
        del _named(users["columns"], "state_name")["description"]

    _edit_yaml(project / "models/marts/_marts__models.yml", drop_description)
    code, out = rules(project)
    assert code == 1, out
    (failure,) = _failures(out)
    assert re.fullmatch(
        r"│ check_model_column_description_populated:\d+:dim_users │ models/marts/dim_users\.sql"
        r" │ ERROR │ `dim_users` has columns that do not have a populated description: "
        r"\['state_name'\] │", failure), out


def test_a_model_without_a_key_test_fails(tmp_path: Path) -> None:
    """`not_null` alone is not a key test: `unique` and `not_null` must share a column."""
    project = copy_project(tmp_path / "project")

    def drop_unique(document: dict[str, Any]) -> None:
        users = _named(document["models"], "int_users__latest_attributes")
        _named(users["columns"], "user_id")["data_tests"] = ["not_null"]

    _edit_yaml(project / "models/intermediate/_intermediate__models.yml", drop_unique)
    code, out = rules(project)
    assert code == 1, out
    (failure,) = _failures(out)
    assert re.match(r"│ check_model_has_primary_key_test:\d+:int_users__latest_attributes │ "
                    r"models/intermediate/int_users__latest_attributes\.sql │ ERROR │",
                    failure), out
    assert ("`int_users__latest_attributes` has no primary-key test: give one column both "
            "`unique` and `not_null`") in failure


def test_a_mart_selecting_from_a_source_fails(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    edit(project / "models/marts/dim_songs.sql", "{{ ref('stg_sparkify__songs') }}",
         "{{ source('sparkify', 'song_data') }}")
    code, out = rules(project)
    assert code == 1, out
    (failure,) = _failures(out)
    assert "check_lineage_source_cannot_be_used" in failure
    assert "`dim_songs` references a source even though this is not permitted." in failure


def test_a_mis_named_model_and_a_misplaced_one_fail(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    (project / "models/intermediate/dim_listeners.sql").write_text(
        "select user_id from {{ ref('int_users__latest_attributes') }}\n", encoding="utf-8")
    (project / "models/marts/songplays_by_day.sql").write_text(
        "select start_date from {{ ref('fct_songplays') }}\n", encoding="utf-8")
    code, out = rules(project)
    assert code == 1, out
    failures = "\n".join(_failures(out))
    assert ("`dim_listeners` does not match the supplied regex "
            "`^int_[a-z0-9_]+__[a-z0-9_]+$`") in failures, out
    assert ("`songplays_by_day` does not match the supplied regex "
            "`^(fct|dim)_[a-z0-9_]+$`") in failures, out


def test_a_hard_coded_table_fails(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    edit(project / "models/staging/sparkify/stg_sparkify__songs.sql",
         "{{ source('sparkify', 'song_data') }}", "sparkify_raw.song_data")
    edit(project / "models/marts/dim_users.sql", "{{ ref('us_states') }}", "us_states")
    code, out = rules(project)
    assert code == 1, out
    failures = "\n".join(_failures(out))
    assert "check_model_hard_coded_references" in failures and "sparkify_raw.song_data" in \
        failures, out
    assert "check_model_has_no_upstream_dependencies" in failures, out
    assert re.search(r"check_model_reads_project_relations_through_ref:\d+:dim_users .* "
                     r"`dim_users`: line \d+: `from us_states` names a project relation "
                     r"directly: use \{\{ ref\('us_states'\) \}\}", failures), out
    # the hard-coded song_data leaves its source unused
    assert "Source `sparkify.song_data` is orphaned" in failures


def test_a_source_without_freshness_or_reason_fails(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")

    def drop_config(document: dict[str, Any]) -> None:
        _named(document["sources"][0]["tables"], "song_data").pop("config")

    _edit_yaml(project / "models/staging/sparkify/_sparkify__sources.yml", drop_config)
    code, out = rules(project)
    assert code == 1, out
    (failure,) = _failures(out)
    assert "check_source_freshness_or_exempt_reason" in failure
    assert "`sparkify.song_data` has no freshness rule" in failure
    assert "freshness_exempt_reason" in failure


def test_sql_lint_passes_on_the_project() -> None:
    passed, text = lint_sql.summarize(lint_sql.lint(PROJECT_DIR))
    assert passed, text


def test_a_lint_violation_fails_and_make_fix_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    model = "models/marts/dim_users.sql"
    edit(project / model, "    select * from {{ ref('us_states') }}",
         "    SELECT * FROM {{ ref('us_states') }}")

    capsys.readouterr()
    code = lint_sql.main(["--project-dir", str(project), model])
    out = capsys.readouterr().out
    assert code == 1
    assert f"== [{model}] FAIL" in out
    assert "CP01" in out and "Keywords must be lower case" in out
    assert f"sql lint: FAILED. sparksql: 2 violation(s) in {model}; redshift: 2" in out

    code = lint_sql.main(["--fix", "--project-dir", str(project), model])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "    select * from {{ ref('us_states') }}" in (project / model).read_text()


def _relations_check() -> ModuleType:
    """checks/bouncer/manifest/relations.py, loaded as dbt-bouncer loads it (by path)."""
    path = PROJECT_DIR / "checks" / "bouncer" / "manifest" / "relations.py"
    spec = importlib.util.spec_from_file_location("sparkify_relations_check", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bare_names_ignore_functions_ctes_comments_and_qualified_names() -> None:
    sql = """
    with a as (select * from {{ ref('x') }}),
    b as (
        select extract(hour from a.start_time) as h, trim(both ' ' from a.name) as n
        from a
        inner join raw.log_data as l on true
        left join us_states as u on true
        where a.id in (select t.id from "tbl" as t)
    )
    -- from commented.out
    select * from b
    """
    found = _relations_check().bare_names(sql)
    assert [(bare.keyword, bare.name, bare.line) for bare in found] == [
        ("join", "us_states", 7), ("from", "tbl", 8)]


def test_a_cte_named_like_a_seed_does_not_hide_the_table_it_reads() -> None:
    """`us_states as (select * from us_states)` reads the table, not the CTE; later
    `from us_states` reads the CTE."""
    sql = ("with us_states as (select * from us_states), b as (select * from us_states)\n"
           "select * from b")
    found = _relations_check().bare_names(sql)
    assert [(bare.name, bare.line) for bare in found] == [("us_states", 1)]
