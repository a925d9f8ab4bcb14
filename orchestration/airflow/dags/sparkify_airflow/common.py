"""What the sparkify DAGs share: where the project is, how its CLI and dbt are called.

The DAGs run in Airflow's own environment (`.venv-airflow`, `make airflow`) and never import
the project: every task calls the project's CLI (`<project>/.venv/bin/python -m ingest …`) or
its dbt (`<project>/.venv/bin/dbt`, which Cosmos starts as a subprocess), so Airflow's
dependencies never constrain the project's. This module is the one place the DAGs read the
environment and Airflow Variables (docs/orchestration.md lists them).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# <project>/orchestration/airflow/dags → <project>, unless the deployment puts it elsewhere
PROJECT_DIR = Path(os.environ.get("SPARKIFY_PROJECT_DIR") or PACKAGE_DIR.parents[3]).resolve()
PROJECT_BIN = Path(os.environ.get("SPARKIFY_PROJECT_BIN") or PROJECT_DIR / ".venv" / "bin")
STATE_DIR = Path(os.environ.get("SPARKIFY_STATE_DIR") or PROJECT_DIR / ".state").resolve()
PYTHON = PROJECT_BIN / "python"
DBT = PROJECT_BIN / "dbt"
PROFILES_YML = PROJECT_DIR / "profiles" / "profiles.yml"
# what the DAGs write besides the project's own state: the parsed manifest, docs, dbt targets
AIRFLOW_STATE = STATE_DIR / "airflow"
MANIFEST = AIRFLOW_STATE / "manifest" / "manifest.json"
# the sample `make airflow-up` generates and serves from a local S3 endpoint (moto)
LOCAL_SOURCE = "s3://sparkify-local/sample"
TARGETS = ("spark", "spark_thrift", "postgres", "redshift")
# the files whose change changes the dbt graph (the manifest is parsed again when one is newer)
DBT_SOURCES = ("dbt_project.yml", "models", "macros", "seeds", "tests/dbt", "tests/generic",
               "analyses")


def variable(name: str, default: str) -> str:
    """An Airflow Variable (or its AIRFLOW_VAR_<NAME> environment variable), else `default`.

    Read while the DAG file is parsed: a missing metadata database (a bare DagBag import)
    gives the default instead of an import error.
    """
    try:
        from airflow.sdk import Variable

        return str(Variable.get(name, default=default))
    except Exception:  # no metadata database or API server to ask: the default applies
        return default


def target() -> str:
    """The dbt target of the DAGs: Variable `sparkify_target`, else SPARKIFY_TARGET, else spark."""
    chosen = variable("sparkify_target", os.environ.get("SPARKIFY_TARGET") or "spark")
    if chosen not in TARGETS:
        raise ValueError(f"sparkify_target {chosen!r}: use one of {', '.join(TARGETS)}")
    return chosen


def source() -> str:
    """The raw source (s3://bucket/prefix): Variable `sparkify_source`, else SPARKIFY_SOURCE,
    else the sample bucket that `make airflow-up` serves from a local S3 endpoint."""
    return variable("sparkify_source", os.environ.get("SPARKIFY_SOURCE") or LOCAL_SOURCE)


def project_env(**extra: str) -> dict[str, str]:
    """Added to the worker's environment for every project command."""
    return {"SPARKIFY_PROJECT_DIR": str(PROJECT_DIR), "PYTHONPATH": str(PROJECT_DIR),
            "PYTHONUNBUFFERED": "1", **extra}


def ingest(*args: str) -> str:
    """A bash command running `python -m ingest ARGS` with the project's interpreter.

    Arguments are shell-quoted, except the Jinja expressions (`{{ … }}`), which the DAGs
    quote with the `sh` filter (sparkify_airflow.dags.USER_DEFINED_FILTERS).
    """
    return " ".join([shlex.quote(str(PYTHON)), "-m", "ingest", *map(_word, args)])


def dbt(*args: str) -> str:
    """A bash command running the project's dbt on its profiles, from the project folder."""
    return " ".join([shlex.quote(str(DBT)), *map(_word, args), "--profiles-dir",
                     shlex.quote(str(PROFILES_YML.parent))])


def _word(arg: str) -> str:
    return arg if arg.startswith("{{") else shlex.quote(arg)


def manifest() -> Path:
    """The project's manifest.json for Cosmos (LoadMode.DBT_MANIFEST), parsed again by
    `dbt parse` when a model, macro, seed or test is newer than it: a DAG import costs a few
    stat calls, not a `dbt ls`."""
    newest = max((path.stat().st_mtime for name in DBT_SOURCES
                  for path in _files(PROJECT_DIR / name)), default=0.0)
    if MANIFEST.is_file() and MANIFEST.stat().st_mtime >= newest:
        return MANIFEST
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=MANIFEST.parent) as scratch:
        parsed = subprocess.run(
            [str(DBT), "parse", "--quiet", "--profiles-dir", str(PROFILES_YML.parent),
             "--target-path", scratch],
            cwd=PROJECT_DIR, env={**os.environ, **project_env()}, capture_output=True,
            text=True, timeout=300, check=False)
        if parsed.returncode != 0:  # the DAG's import error shows dbt's own message
            raise RuntimeError(f"`dbt parse` of {PROJECT_DIR} failed (exit "
                               f"{parsed.returncode}): {(parsed.stdout + parsed.stderr)[-2000:]}")
        os.replace(Path(scratch) / "manifest.json", MANIFEST)
    return MANIFEST


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [child for child in path.rglob("*") if child.is_file()] if path.is_dir() else []
