"""Schema names reach SQL unescaped: one rule (ingest.raw.contract.SCHEMA_NAME) refuses hostile
ones in the CLI, in run_pipeline and, through macros/overrides/generate_schema_name.sql, in dbt
itself.

No Spark: the CLI must refuse before anything starts (no Java on PATH, so a regression fails
fast instead of starting a JVM), and dbt refuses while parsing, before it connects.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.raw.contract import SCHEMA_NAME, validate_schema_name
from tests.support.ci_project import copy_project, edit
from tests.support.project import PROJECT_DIR, postgres_connect

HOSTILE = 'x"; drop table canary; --'
MESSAGE = "is not a valid schema name"
MACRO = PROJECT_DIR / "macros" / "overrides" / "generate_schema_name.sql"
PROFILES = PROJECT_DIR / "profiles" / "profiles.yml"


def test_one_pattern_for_python_and_dbt() -> None:
    macro = re.findall(r"schema_name_pattern = '([^']+)'", MACRO.read_text(encoding="utf-8"))
    assert macro == [SCHEMA_NAME.pattern]
    # the profile has no way to raise (no `exceptions` there): it must not carry a second,
    # possibly different, copy of the rule
    profile = PROFILES.read_text(encoding="utf-8")
    assert "A-Za-z0-9_" not in profile
    assert "generate_schema_name.sql" in profile


@pytest.mark.parametrize("name", ["sparkify", "_x", "Sparkify_2", "a" * 63])
def test_valid_schema_names(name: str) -> None:
    assert validate_schema_name(name, "--schema / SPARKIFY_SCHEMA") == name


@pytest.mark.parametrize("name", [HOSTILE, "", "a" * 64, "1abc", "a-b", "a b", "sparkify\n",
                                  "caf\u00e9", "x`y", "x'y"])
def test_invalid_schema_names(name: str) -> None:
    with pytest.raises(IngestError, match=r"^--schema / SPARKIFY_SCHEMA .* is not a valid "
                                          r"schema name: use letters, digits and underscores"):
        validate_schema_name(name, "--schema / SPARKIFY_SCHEMA")


def _ingest(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m ingest <args>` with a scratch state, no Java and no reachable warehouse."""
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith("SPARKIFY_") and key not in {"JAVA_HOME", "SPARK_CONF_DIR"}}
    environ |= {
        "PATH": str(tmp_path / "no-bin"),
        "SPARKIFY_STATE_DIR": str(tmp_path / "state"),
        "SPARK_CONF_DIR": str(tmp_path / "spark-conf"),
        "SPARKIFY_PG_PORT": "9",  # discard: nothing may reach a real warehouse
        **env,
    }
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("args", "env", "setting"), [
    (["run", "--once", "--target", "postgres", "--schema", HOSTILE], {}, "--schema"),
    (["run", "--once", "--target", "postgres"], {"SPARKIFY_SCHEMA": HOSTILE}, "--schema"),
    (["run", "--once", "--target", "postgres", "--raw-schema", HOSTILE], {}, "--raw-schema"),
    (["pipeline", "--schema", HOSTILE], {}, "--schema"),
    (["pipeline"], {"SPARKIFY_SCHEMA": HOSTILE}, "--schema"),
    (["pipeline"], {"SPARKIFY_RAW_SCHEMA": HOSTILE}, "--raw-schema"),
    (["stage", "--raw-schema", HOSTILE], {}, "--raw-schema"),
    (["status", "--target", "postgres"], {"SPARKIFY_RAW_SCHEMA": HOSTILE}, "--raw-schema"),
], ids=["run-option", "run-env", "run-raw", "pipeline-option", "pipeline-env",
        "pipeline-raw-env", "stage-raw", "status-raw-env"])
def test_cli_refuses_hostile_schema(args: list[str], env: dict[str, str], setting: str,
                                    tmp_path: Path) -> None:
    source = tmp_path / "raw"
    source.mkdir()
    result = _ingest([*args, "--source", str(source)] if args[0] != "status" else args,
                     tmp_path, **env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    assert setting in errors[0] and MESSAGE in errors[0], errors[0]
    assert repr(HOSTILE) in errors[0]
    assert not (tmp_path / "state").exists(), "something ran before the schema was checked"


def test_run_pipeline_refuses_hostile_schema(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    import ingest.run.pipeline

    def no_spark(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("Spark started before the schema names were checked")

    monkeypatch.setattr(ingest.run.pipeline, "spark_session", no_spark)
    state = StatePaths(tmp_path / "state")
    with pytest.raises(IngestError, match=MESSAGE):
        ingest.run.pipeline.run_pipeline(None, raw_schema="sparkify_raw", schema=HOSTILE,
                                         state=state, project=PROJECT_DIR)
    with pytest.raises(IngestError, match=MESSAGE):
        ingest.run.pipeline.run_pipeline(None, raw_schema=HOSTILE, schema="sparkify",
                                         state=state, project=PROJECT_DIR)
    assert not state.root.exists(), "something ran before the schema names were checked"


def _dbt(args: list[str], project: Path, tmp_path: Path,
         **env: str) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items()
               if key not in {"SPARKIFY_SCHEMA", "SPARKIFY_RAW_SCHEMA"}}
    environ |= env
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(project), "--profiles-dir",
         str(project / "profiles"), "--target", "postgres", "--target-path",
         str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--no-partial-parse"],
        env=environ, capture_output=True, text=True, timeout=300, check=False)


def _tables(database: str) -> tuple[set[str], set[str]]:
    connection = postgres_connect(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select schema_name from information_schema.schemata")
            schemas = {row[0] for row in cursor.fetchall()}
            cursor.execute("select table_name from information_schema.tables "
                           "where table_schema = 'public'")
            return schemas, {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()


def test_dbt_refuses_hostile_sparkify_schema(pg_database: str, tmp_path: Path) -> None:
    connection = postgres_connect(pg_database)
    with connection, connection.cursor() as cursor:
        cursor.execute("create table canary (id int)")
    connection.close()
    schemas_before, _ = _tables(pg_database)

    result = _dbt(["seed"], PROJECT_DIR, tmp_path, SPARKIFY_SCHEMA=HOSTILE,
                  SPARKIFY_PG_DATABASE=pg_database)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"SPARKIFY_SCHEMA (the target's schema) {HOSTILE!r} {MESSAGE}" in output, output
    schemas_after, tables = _tables(pg_database)
    assert "canary" in tables
    assert schemas_after == schemas_before


@pytest.mark.dbt
def test_dbt_schema_names(tmp_path: Path) -> None:
    """A valid schema gets dbt's default names; a hostile raw or custom schema is refused."""
    project = copy_project(tmp_path / "project")
    result = _dbt(["ls", "--output", "json", "--output-keys", "unique_id", "schema",
                   "--resource-type", "model", "--resource-type", "seed", "--quiet"],
                  project, tmp_path, SPARKIFY_SCHEMA="marts_x")
    assert result.returncode == 0, result.stdout + result.stderr
    schemas = set(re.findall(r'"schema": "([^"]+)"', result.stdout))
    assert schemas == {"marts_x", "marts_x_staging", "marts_x_intermediate",
                       "marts_x_reference"}

    result = _dbt(["parse"], project, tmp_path, SPARKIFY_SCHEMA="marts_x",
                  SPARKIFY_RAW_SCHEMA=HOSTILE)
    assert result.returncode != 0
    assert f"SPARKIFY_RAW_SCHEMA {HOSTILE!r} {MESSAGE}" in result.stdout, result.stdout

    custom = 'staging"; --'
    edit(project / "dbt_project.yml", "+schema: staging", f"+schema: '{custom}'")
    result = _dbt(["parse"], project, tmp_path, SPARKIFY_SCHEMA="marts_x")
    assert result.returncode != 0
    assert "custom schema (+schema of model.sparkify." in result.stdout, result.stdout
    assert f"{custom!r} {MESSAGE}" in result.stdout, result.stdout
