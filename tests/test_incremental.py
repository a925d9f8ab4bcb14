"""Incremental marts on Spark (insert_overwrite) and Postgres (delete+insert).

One history, day by day: three days, then a fourth (only its day is written), the same
batch again (nothing is written), a changed file (only its day), a late file for an older
day (only that day). After every step the marts equal the contract's answer for the raw
data as it stands, and at the end `--full-refresh` gives exactly the incremental marts.
Which days were written is read from the engine itself: the files of each Spark partition,
and the `xmin` (writing transaction) of each Postgres row.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ingest.dbt import run_dbt
from ingest.generate import GenerateConfig, generate
from ingest.paths import StatePaths
from ingest.stage_postgres import stage_postgres
from ingest.stage_spark import stage_spark

from .conftest import PROJECT_DIR, postgres_rows
from .cross_engine import Export, assert_same_marts, export_marts
from .expected_marts import build_expected_marts

START = dt.date(2019, 3, 1)
DAYS = [START + dt.timedelta(days=offset) for offset in range(5)]


@dataclass
class Engine:
    stage: Callable[[Path], None]
    dbt: Callable[[list[str]], None]
    marts: Callable[[], Export]
    day_versions: Callable[[], dict[dt.date, Any]]


@pytest.fixture(scope="module")
def full_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("incremental_full")
    generate(raw, GenerateConfig(songs=80, days=5, events_per_day=150, seed=21,
                                 start_date=START, known_song_share=0.7))
    return raw


def _log(raw: Path, day: dt.date) -> Path:
    return raw / "log_data" / f"{day:%Y}" / f"{day:%m}" / f"{day.isoformat()}-events.json"


def _source_with(full: Path, source: Path, days: list[dt.date]) -> None:
    if not (source / "song_data").exists():
        shutil.copytree(full / "song_data", source / "song_data")
    for day in days:
        target = _log(source, day)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(_log(full, day), target)


def _expected(source: Path) -> Export:
    expected = build_expected_marts(source, PROJECT_DIR / "seeds" / "us_states.csv")
    return export_marts(lambda mart: expected[mart])


def _drop_plays(path: Path, keep_every: int) -> None:
    """A changed object: the same day with some of its NextSong lines gone."""
    lines = path.read_text(encoding="utf-8").split("\n")
    plays = [index for index, line in enumerate(lines) if '"NextSong"' in line]
    dropped = set(plays[::keep_every])
    path.write_text("\n".join(line for index, line in enumerate(lines)
                              if index not in dropped), encoding="utf-8")


def run_history(engine: Engine, full: Path, source: Path) -> None:
    def step(days: list[dt.date]) -> tuple[dict[dt.date, Any], dict[dt.date, Any]]:
        _source_with(full, source, days)
        before = engine.day_versions()
        engine.stage(source)
        engine.dbt(["run"])
        assert_same_marts({"expected": _expected(source), "engine": engine.marts()})
        return before, engine.day_versions()

    _source_with(full, source, DAYS[1:4])
    engine.stage(source)
    engine.dbt(["build"])
    assert_same_marts({"expected": _expected(source), "engine": engine.marts()})

    before, after = step([DAYS[4]])  # a new day
    assert set(after) == set(before) | {DAYS[4]}
    assert {day for day in before if after[day] != before[day]} == set(), "old days rewritten"

    before, after = step([])  # the same batch again
    assert after == before

    _drop_plays(_log(source, DAYS[2]), keep_every=4)  # a changed object
    before, after = step([])
    assert {day for day in after if after[day] != before.get(day)} == {DAYS[2]}

    before, after = step([DAYS[0]])  # a late file for an older day
    assert {day for day in after if after[day] != before.get(day)} == {DAYS[0]}

    before = engine.day_versions()  # a backfill of one day rewrites that day only
    engine.dbt(["run", "--vars", f"{{backfill_from: '{DAYS[1]}', backfill_to: '{DAYS[1]}'}}"])
    after = engine.day_versions()
    assert {day for day in after if after[day] != before.get(day)} == {DAYS[1]}

    incremental = engine.marts()
    engine.dbt(["run", "--full-refresh"])
    assert_same_marts({"incremental": incremental, "full refresh": engine.marts()})


@pytest.mark.spark
def test_spark_incremental_history(spark: Any, session_state: Path, full_raw: Path,
                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_SCHEMA", "incr")
    monkeypatch.setenv("SPARKIFY_RAW_SCHEMA", "incr_raw")
    state = StatePaths(session_state)
    fact = state.warehouse / "incr.db" / "fct_songplays"

    def day_versions() -> dict[dt.date, Any]:
        if not fact.is_dir():
            return {}
        return {
            dt.date.fromisoformat(part.name.split("=", 1)[1]): sorted(
                (path.name, path.stat().st_mtime_ns) for path in part.glob("*.parquet"))
            for part in fact.glob("start_date=*")
        }

    engine = Engine(
        stage=lambda source: stage_spark(str(source), schema="incr_raw", state=state,
                                         spark=spark) and None,
        dbt=lambda args: run_dbt(PROJECT_DIR, [*args, "--target-path", str(tmp_path / "t")],
                                 target="spark"),
        marts=lambda: export_marts(lambda mart: [
            row.asDict() for row in spark.sql(f"select * from incr.{mart}").collect()]),
        day_versions=day_versions,
    )
    run_history(engine, full_raw, tmp_path / "source")


def test_postgres_incremental_history(pg_database: str, full_raw: Path, tmp_path: Path) -> None:
    def day_versions() -> dict[dt.date, Any]:
        exists = postgres_rows(pg_database, "select to_regclass('sparkify.fct_songplays') "
                                            "is not null as present")
        if not exists[0]["present"]:
            return {}
        rows = postgres_rows(pg_database, "select start_date, xmin::text as version from "
                                          "sparkify.fct_songplays")
        versions: dict[dt.date, set[str]] = {}
        for row in rows:
            versions.setdefault(row["start_date"], set()).add(row["version"])
        return versions

    engine = Engine(
        stage=lambda source: stage_postgres(str(source)) and None,
        dbt=lambda args: run_dbt(PROJECT_DIR, [*args, "--target-path", str(tmp_path / "t")],
                                 target="postgres"),
        marts=lambda: export_marts(
            lambda mart: postgres_rows(pg_database, f"select * from sparkify.{mart}")),
        day_versions=day_versions,
    )
    run_history(engine, full_raw, tmp_path / "source")
