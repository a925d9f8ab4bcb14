"""The redshift target compiles without a cluster, and uses its own macros and design."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.run.dbt import run_dbt
from tests.support.project import PROJECT_DIR

pytestmark = pytest.mark.dbt


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("redshift_target")
    run_dbt(PROJECT_DIR, ["compile", "--no-populate-cache", "--no-introspect",
                          "--target-path", str(target)], target="redshift")
    return target


def _compiled_sql(target: Path, model: str) -> str:
    path = next((target / "compiled" / "sparkify" / "models").rglob(f"{model}.sql"))
    return path.read_text(encoding="utf-8")


def test_redshift_macros_are_dispatched(compiled: Path) -> None:
    dim_time = _compiled_sql(compiled, "dim_time")
    assert "to_char(start_time, 'ID')" in dim_time
    assert "date_part(week, start_time)" in dim_time
    assert "dayofweek_iso" not in dim_time and "weekofyear" not in dim_time
    events = _compiled_sql(compiled, "stg_sparkify__events")
    assert "timestamp 'epoch' + ts / 1000.0 * interval '1 second'" in events
    assert "md5(" in events and "timestamp_millis" not in events


def test_redshift_physical_design_is_configured(compiled: Path) -> None:
    manifest = json.loads((compiled / "manifest.json").read_text(encoding="utf-8"))
    config = {node["name"]: node["config"] for node in manifest["nodes"].values()
              if node["resource_type"] == "model"}
    assert (config["fct_songplays"]["dist"], config["fct_songplays"]["sort"]) == (
        "start_time", ["start_time"])
    assert config["dim_time"]["dist"] == "start_time"
    for dimension in ("dim_users", "dim_songs", "dim_artists"):
        assert config[dimension]["dist"] == "all"
