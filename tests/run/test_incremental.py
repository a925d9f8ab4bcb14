"""Incremental intermediates and marts on Spark (insert_overwrite) and Postgres (delete+insert).

One history, day by day: three days, then a fourth (only its day is written), the same
batch again (nothing is written), a changed file (only its day), a late file for an older
day (only that day), a held-back song that old plays match (only the days of those plays,
and only in the play tables), a late event that changes a user's latest level, a backfill
of one day. After every step the marts equal the contract's answer for the raw data as it
stands, and at the end `--full-refresh` gives exactly the incremental marts. Which days were
written is read from the engine itself, for every day-partitioned table: the files of each
Spark partition, and the `xmin` (writing transaction) of each Postgres row.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ingest.paths import StatePaths
from ingest.run.builds import pruned_days_args
from ingest.run.dbt import run_dbt
from ingest.sample.generate import GenerateConfig, generate
from ingest.stage.core import StageOptions
from tests.support.cross_engine import Export, assert_same_marts, export_marts
from tests.support.expected_marts import build_expected_marts
from tests.support.project import PROJECT_DIR, postgres_rows
from tests.support.staging import stage_postgres, stage_spark

START = dt.date(2019, 3, 1)
DAYS = [START + dt.timedelta(days=offset) for offset in range(5)]
# the day-partitioned tables: name -> (custom schema, day column)
DAY_TABLES = {
    "int_events__deduplicated": ("intermediate", "event_date"),
    "int_songplays__matched_to_songs": ("intermediate", "event_date"),
    "fct_songplays": (None, "start_date"),
    "dim_time": (None, "start_date"),
}
# a new song changes the plays it matches, and their staging time that dim_time carries
PLAY_TABLES = ("int_songplays__matched_to_songs", "fct_songplays", "dim_time")
Versions = dict[tuple[str, dt.date], Any]


@dataclass
class Engine:
    stage: Callable[[Path, bool], None]  # the source, and whether to prune
    dbt: Callable[[list[str]], None]
    marts: Callable[[], Export]
    day_versions: Callable[[], Versions]


@dataclass(frozen=True)
class HeldBackSong:
    """A song left out of the source at first, and the days of the plays it matches."""

    path: Path
    days: frozenset[dt.date]


@pytest.fixture(scope="module")
def full_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("incremental_full")
    generate(raw, GenerateConfig(songs=80, days=5, events_per_day=150, seed=21,
                                 start_date=START, known_song_share=0.7))
    return raw


def _log(raw: Path, day: dt.date) -> Path:
    return raw / "log_data" / f"{day:%Y}" / f"{day:%m}" / f"{day.isoformat()}-events.json"


def _key(title: Any, artist: Any) -> tuple[str, str]:
    return str(title).strip().lower(), str(artist).strip().lower()


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n")
            if line.strip()]


def held_back_song(full: Path, days: list[dt.date]) -> HeldBackSong:
    """A song whose plays (same trimmed, lower-cased title and artist) fall on some days only."""
    play_days: dict[tuple[str, str], set[dt.date]] = {}
    for day in days:
        for event in _events(_log(full, day)):
            if event["page"] == "NextSong" and event["userId"]:
                play_days.setdefault(_key(event["song"], event["artist"]), set()).add(day)
    for path in sorted((full / "song_data").rglob("*.json")):
        song = json.loads(path.read_text(encoding="utf-8"))
        matched = play_days.get(_key(song["title"], song["artist_name"]), set())
        if 0 < len(matched) < len(days) - 1:
            return HeldBackSong(path.relative_to(full), frozenset(matched))
    raise AssertionError("the generated data has no song played on some days only")


def _source_with(full: Path, source: Path, days: list[dt.date],
                 without: Path | None = None) -> None:
    if not (source / "song_data").exists():
        shutil.copytree(full / "song_data", source / "song_data")
        if without is not None:
            (source / without).unlink()
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


def _change_latest_level(path: Path) -> str:
    """A changed object: one more event, the latest of its user, at the other level."""
    events = [event for event in _events(path) if event["userId"]]
    latest = max(events, key=lambda event: event["ts"])
    late = dict(latest, ts=latest["ts"] + 1, itemInSession=latest["itemInSession"] + 1000,
                page="Home", song=None, artist=None, length=None,
                level="free" if latest["level"] == "paid" else "paid")
    with path.open("a", encoding="utf-8") as body:
        body.write("\n" + json.dumps(late))
    return str(late["userId"])


def _rewritten(before: Versions, after: Versions) -> set[tuple[str, dt.date]]:
    return {table_day for table_day, version in after.items()
            if before.get(table_day) != version}


def _all_tables(*days: dt.date) -> set[tuple[str, dt.date]]:
    return {(table, day) for table in DAY_TABLES for day in days}


def run_history(engine: Engine, full: Path, source: Path) -> None:
    song = held_back_song(full, DAYS)

    def step(days: list[dt.date]) -> set[tuple[str, dt.date]]:
        _source_with(full, source, days)
        before = engine.day_versions()
        engine.stage(source, False)
        engine.dbt(["run"])
        assert_same_marts({"expected": _expected(source), "engine": engine.marts()})
        return _rewritten(before, engine.day_versions())

    _source_with(full, source, DAYS[1:4], without=song.path)
    engine.stage(source, False)
    engine.dbt(["build"])
    assert_same_marts({"expected": _expected(source), "engine": engine.marts()})

    assert step([DAYS[4]]) == _all_tables(DAYS[4]), "a new day rewrites that day only"
    assert step([]) == set(), "the same batch again rewrites nothing"

    _drop_plays(_log(source, DAYS[2]), keep_every=4)  # a changed object
    assert step([]) == _all_tables(DAYS[2])

    assert step([DAYS[0]]) == _all_tables(DAYS[0]), "a late file rewrites its day only"

    shutil.copy(full / song.path, source / song.path)  # a song that old plays match
    assert step([]) == {(table, day) for table in PLAY_TABLES for day in song.days}, (
        "a new song rewrites only the days of the plays it matches")

    levels_before = {dict(row)["user_id"]: row for row in engine.marts()["dim_users"]}
    user = _change_latest_level(_log(source, DAYS[4]))  # a late level change
    assert step([]) == _all_tables(DAYS[4])
    levels_after = {dict(row)["user_id"]: row for row in engine.marts()["dim_users"]}
    assert {key for key in levels_after if levels_after[key] != levels_before.get(key)} == {
        int(user)}, "only the user of the late event changes"

    before = engine.day_versions()  # a day already built, pruned: it leaves every table
    _log(source, DAYS[0]).unlink()
    engine.stage(source, True)
    engine.dbt(["run", *pruned_days_args(frozenset({DAYS[0]}))])
    assert_same_marts({"expected": _expected(source), "engine": engine.marts()})
    after = engine.day_versions()
    assert set(before) - set(after) == _all_tables(DAYS[0]), "the pruned day is gone"
    assert _rewritten(before, after) == set(), "and nothing else was rewritten"

    before = engine.day_versions()  # a backfill of one day rewrites that day only
    engine.dbt(["run", "--vars", f"{{backfill_from: '{DAYS[1]}', backfill_to: '{DAYS[1]}'}}"])
    assert _rewritten(before, engine.day_versions()) == _all_tables(DAYS[1])

    incremental = engine.marts()
    engine.dbt(["run", "--full-refresh"])
    assert_same_marts({"incremental": incremental, "full refresh": engine.marts()})


@pytest.mark.spark
def test_spark_incremental_history(spark: Any, session_state: Path, full_raw: Path,
                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_SCHEMA", "incr")
    monkeypatch.setenv("SPARKIFY_RAW_SCHEMA", "incr_raw")
    state = StatePaths(session_state)

    def day_versions() -> Versions:
        versions: Versions = {}
        for table, (custom, column) in DAY_TABLES.items():
            schema = "incr" if custom is None else f"incr_{custom}"
            folder = state.warehouse / f"{schema}.db" / table
            for part in folder.glob(f"{column}=*"):
                versions[(table, dt.date.fromisoformat(part.name.split("=", 1)[1]))] = sorted(
                    (path.name, path.stat().st_mtime_ns) for path in part.glob("*.parquet"))
        return versions

    engine = Engine(
        stage=lambda source, prune: stage_spark(str(source), schema="incr_raw", state=state,
                                                spark=spark,
                                                options=StageOptions(prune=prune)) and None,
        dbt=lambda args: run_dbt(PROJECT_DIR, [*args, "--target-path", str(tmp_path / "t")],
                                 target="spark"),
        marts=lambda: export_marts(lambda mart: [
            row.asDict() for row in spark.sql(f"select * from incr.{mart}").collect()]),
        day_versions=day_versions,
    )
    run_history(engine, full_raw, tmp_path / "source")


def test_postgres_incremental_history(pg_database: str, full_raw: Path, tmp_path: Path) -> None:
    def day_versions() -> Versions:
        versions: dict[tuple[str, dt.date], set[str]] = {}
        for table, (custom, column) in DAY_TABLES.items():
            schema = "sparkify" if custom is None else f"sparkify_{custom}"
            exists = postgres_rows(pg_database, f"select to_regclass('{schema}.{table}') "
                                                "is not null as present")
            if not exists[0]["present"]:
                continue
            for row in postgres_rows(pg_database, f"select {column} as day, xmin::text as "
                                                  f"version from {schema}.{table}"):
                versions.setdefault((table, row["day"]), set()).add(row["version"])
        return dict(versions)

    engine = Engine(
        stage=lambda source, prune: stage_postgres(str(source), prune=prune) and None,
        dbt=lambda args: run_dbt(PROJECT_DIR, [*args, "--target-path", str(tmp_path / "t")],
                                 target="postgres"),
        marts=lambda: export_marts(
            lambda mart: postgres_rows(pg_database, f"select * from sparkify.{mart}")),
        day_versions=day_versions,
    )
    run_history(engine, full_raw, tmp_path / "source")
