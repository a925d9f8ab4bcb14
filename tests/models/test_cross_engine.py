"""Same raw data, every engine, identical marts: embedded Spark and PostgreSQL.

The raw set is generated across the 2020/2021 year boundary, plus awkward rows
(tests/support/awkward_data.py): ties in matching, a level change within one millisecond, year 0,
empty locations, 2021-01-01 (ISO week 53), 2024-12-29 (Sunday) and 2024-12-30 (ISO week 1).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from ingest.paths import StatePaths
from ingest.run.dbt import run_dbt
from ingest.sample.generate import GenerateConfig, generate
from tests.support.awkward_data import add_awkward_rows
from tests.support.cross_engine import Export, assert_same_marts, differences, export_marts
from tests.support.expected_marts import build_expected_marts, canonical
from tests.support.project import PROJECT_DIR, postgres_rows
from tests.support.staging import stage_postgres, stage_spark

pytestmark = pytest.mark.spark
DBT_PROJECT_FILES = ("dbt_project.yml", "models", "macros", "seeds", "profiles", "tests/dbt",
                     "tests/generic")


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("cross_engine_raw")
    generate(raw, GenerateConfig(songs=120, days=5, events_per_day=400, seed=5,
                                 start_date=dt.date(2020, 12, 29), known_song_share=0.7))
    add_awkward_rows(raw)
    return raw


@pytest.fixture(scope="module")
def spark_export(spark: Any, session_state: Path, raw_dir: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Export:
    patch = pytest.MonkeyPatch()
    patch.setenv("SPARKIFY_SCHEMA", "cross")
    patch.setenv("SPARKIFY_RAW_SCHEMA", "cross_raw")
    try:
        stage_spark(str(raw_dir), schema="cross_raw", state=StatePaths(session_state),
                    spark=spark)
        target = tmp_path_factory.mktemp("spark_target")
        run_dbt(PROJECT_DIR, ["build", "--target-path", str(target)], target="spark")
    finally:
        patch.undo()
    return export_marts(
        lambda mart: [row.asDict() for row in spark.sql(f"select * from cross.{mart}").collect()]
    )


def _postgres_export(project_dir: Path, raw_dir: Path, database: str, target: Path,
                     commands: tuple[str, ...] = ("build",)) -> Export:
    stage_postgres(str(raw_dir), schema="sparkify_raw")
    for command in commands:
        run_dbt(project_dir, [command, "--target-path", str(target)], target="postgres")
    return export_marts(lambda mart: postgres_rows(database, f"select * from sparkify.{mart}"))


def test_spark_and_postgres_give_identical_marts(
    spark_export: Export, raw_dir: Path, pg_database: str, tmp_path: Path
) -> None:
    postgres_export = _postgres_export(PROJECT_DIR, raw_dir, pg_database, tmp_path / "target")

    assert_same_marts({"spark": spark_export, "postgres": postgres_export})
    expected = build_expected_marts(raw_dir, PROJECT_DIR / "seeds" / "us_states.csv")
    assert spark_export == {mart: canonical(rows) for mart, rows in expected.items()}
    weeks = {dict(row)["week"] for row in spark_export["dim_time"]}
    assert {1, 52, 53} <= weeks


def test_comparator_catches_an_engine_whose_macro_differs(
    spark_export: Export, raw_dir: Path, pg_database: str, tmp_path: Path
) -> None:
    """Postgres with `extract(dow …)` (Sunday = 0) instead of ISO weekdays must be caught."""
    project = tmp_path / "project"
    for name in DBT_PROJECT_FILES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            project.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, project / name)
    macro = project / "macros" / "engine" / "iso_weekday.sql"
    macro.write_text(macro.read_text(encoding="utf-8").replace("isodow", "dow"),
                     encoding="utf-8")

    mutated = _postgres_export(project, raw_dir, pg_database, tmp_path / "target",
                               ("seed", "run"))

    found = differences(spark_export, mutated, ("spark", "postgres"))
    assert found and all(line.startswith("dim_time") for line in found)
    assert any("weekday=7" in line for line in found if "only on spark" in line)
    assert any("weekday=0" in line for line in found if "only on postgres" in line)
    with pytest.raises(AssertionError, match="marts differ between engines"):
        assert_same_marts({"spark": spark_export, "postgres": mutated})
