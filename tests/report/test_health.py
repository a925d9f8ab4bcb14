"""Pipeline health's reading of dbt's results (fast: files written here)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.paths import BUILD_RESULTS
from ingest.report.health import age, last_build


def _results(path: Path, which: str, at: str, statuses: dict[str, str]) -> None:
    path.write_text(json.dumps({
        "metadata": {"generated_at": at}, "args": {"which": which}, "elapsed_time": 12.5,
        "results": [{"unique_id": unique_id, "status": status}
                    for unique_id, status in statuses.items()]}), encoding="utf-8")


def test_the_build_wins_over_a_later_docs_generate(tmp_path: Path) -> None:
    _results(tmp_path / BUILD_RESULTS, "build", "2026-12-04T10:00:00.5Z",
             {"model.sparkify.dim_users": "success", "test.sparkify.a": "pass",
              "test.sparkify.b": "fail", "unit_test.sparkify.c": "pass"})
    assert last_build(tmp_path) is not None
    _results(tmp_path / "run_results.json", "generate", "2026-12-04T10:05:00Z",
             {"model.sparkify.dim_users": "success", "test.sparkify.a": "success"})
    build = last_build(tmp_path)
    assert build is not None and build.command == "build"
    assert build.generated_at == dt.datetime(2026, 12, 4, 10, 0, 0, 500000)
    assert (build.count("model"), build.count("test", "pass"), build.count("test")) == (1, 1, 2)
    assert build.failures == ("test.sparkify.b",)
    (tmp_path / BUILD_RESULTS).unlink()
    shown = last_build(tmp_path)
    assert shown is not None and shown.command == "generate", "no build: the last command"


def test_no_results_and_broken_results(tmp_path: Path) -> None:
    assert last_build(tmp_path) is None
    (tmp_path / "run_results.json").write_text("{}", encoding="utf-8")
    with pytest.raises(IngestError, match=r"is not a dbt run_results\.json"):
        last_build(tmp_path)


def test_age() -> None:
    now = dt.datetime(2026, 12, 4, 12, 0)
    assert age(None) == "never"
    assert age(dt.datetime(2026, 12, 4, 11, 58), now) == "2 min ago"
    assert age(dt.datetime(2026, 12, 4, 9, 30), now) == "2 h 30 min ago"
    assert age(dt.datetime(2026, 11, 30, 12, 0), now) == "4 days ago"
