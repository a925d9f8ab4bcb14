"""The marts the report and dashboard tests read: built once per test session on
PostgreSQL (and, for the Spark path, once on the embedded Spark: tests/report/test_queries.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.project import PROJECT_DIR, throwaway_database
from tests.support.report_data import BuiltMarts, write_raw


@pytest.fixture(scope="session")
def report_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_raw(tmp_path_factory.mktemp("report_raw"))


@pytest.fixture(scope="session")
def pg_marts(report_raw: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[BuiltMarts]:
    """The raw set staged into a throw-away database, `dbt build` run, target/ kept."""
    from ingest.run.dbt import run_dbt
    from tests.support.staging import stage_postgres

    target = tmp_path_factory.mktemp("report_pg") / "target"
    with throwaway_database("sparkify_report") as database:
        marts = BuiltMarts(report_raw, target, database)
        with pytest.MonkeyPatch.context() as env:  # only while building: tests use pg_settings
            env.setenv("SPARKIFY_PG_DATABASE", database)
            env.setenv("SPARKIFY_SCHEMA", marts.schema)
            env.setenv("SPARKIFY_RAW_SCHEMA", marts.raw_schema)
            stage_postgres(str(report_raw), schema=marts.raw_schema)
            run_dbt(PROJECT_DIR, ["build", "--target-path", str(target)], target="postgres")
        yield marts


@pytest.fixture()
def pg_settings(pg_marts: BuiltMarts, monkeypatch: pytest.MonkeyPatch) -> BuiltMarts:
    """The settings the dashboard reads, pointed at pg_marts."""
    assert pg_marts.database
    for name, value in {"SPARKIFY_TARGET": "postgres", "SPARKIFY_PG_DATABASE": pg_marts.database,
                        "SPARKIFY_SCHEMA": pg_marts.schema,
                        "SPARKIFY_RAW_SCHEMA": pg_marts.raw_schema,
                        "DBT_TARGET_PATH": str(pg_marts.target_dir)}.items():
        monkeypatch.setenv(name, value)
    return pg_marts
