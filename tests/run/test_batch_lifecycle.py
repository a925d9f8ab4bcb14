"""The batch lifecycle around staging: archive, status, and the scheduled loop with its lock."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from ingest.cli import main
from ingest.paths import StatePaths
from ingest.raw.archive import ArchiveRequest
from ingest.run.scheduler import CycleConfig, cycle_lock, parse_interval, run_cycle, run_every
from ingest.stage.core import StageOptions
from tests.support.project import (
    FIXTURES,
    copy_handwritten,
    postgres_connect,
    postgres_rows,
    raw_rows,
)
from tests.support.raw_lines import BAD_LINES, log_key, log_with_bad_lines
from tests.support.staging import request, stage_postgres

RAW = FIXTURES / "raw_handwritten"


def _cycle(source: Path, state: StatePaths, options: StageOptions | None = None) -> CycleConfig:
    """Cycles that stage `source` into Postgres's sparkify_raw and build `sparkify`."""
    return CycleConfig(request("postgres", source, state=state, options=options), "sparkify")


def _built_once(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, CycleConfig, int]:
    """The handwritten raw data staged and built by one cycle: its raw folder, the cycle's
    config and the number of plays fct_songplays then holds."""
    monkeypatch.setenv("SPARKIFY_SCHEMA", "sparkify")
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    raw = copy_handwritten(tmp_path)
    config = _cycle(raw, StatePaths(tmp_path / "state"))
    assert run_cycle(config) is True
    return raw, config, raw_rows(database, "fct_songplays", "sparkify")


def test_archive_copies_processed_objects_and_delete_keeps_their_rows(
    pg_database: str, tmp_path: Path
) -> None:
    raw = copy_handwritten(tmp_path)
    archive = tmp_path / "archive"
    originals = sorted(path.relative_to(raw) for path in raw.rglob("*.json"))

    stage_postgres(str(raw), archive=ArchiveRequest(str(archive)))
    assert sorted(path.relative_to(archive) for path in archive.rglob("*.json")) == originals
    assert sorted(path.relative_to(raw) for path in raw.rglob("*.json")) == originals

    stage_postgres(str(raw), archive=ArchiveRequest(str(archive), delete=True))
    assert list(raw.rglob("*.json")) == [], "archived objects deleted from the source"

    loads = stage_postgres(str(raw), archive=ArchiveRequest(str(archive), delete=True))
    assert all(load.objects_removed == 0 for load in loads)
    assert (raw_rows(pg_database, "song_data"), raw_rows(pg_database, "log_data")) == (8, 16)
    archived = postgres_rows(pg_database, "select count(*) as n from "
                                          "sparkify_raw._loaded_objects where archived_at is null")
    assert archived[0]["n"] == 0


def test_status_prints_the_ledger_and_every_problem(
    pg_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = copy_handwritten(tmp_path)
    bad_day, cut_day = dt.date(2018, 11, 3), dt.date(2018, 11, 4)
    (raw / log_key(bad_day)).write_bytes(log_with_bad_lines(bad_day, 1000, BAD_LINES))
    (raw / log_key(cut_day)).write_bytes(b'{"page": "Home", "ts": 15412032')
    stage_postgres(str(raw))
    capsys.readouterr()

    assert main(["status", "--target", "postgres", "--limit", "2"]) == 0
    out = capsys.readouterr().out

    assert "ledger: postgres at 127.0.0.1:5432, schema sparkify_raw" in out
    assert "log_data: 4 objects (2 loaded, 1 quarantined, 1 pending); 1,011 rows loaded, " \
           "5 quarantined, 3 blank lines" in out
    assert f"pending     {log_key(cut_day)} (attempts: 1): line 1 ends mid-record" in out
    assert f"quarantined {log_key(bad_day)} (attempts: 0): 5 line(s) quarantined" in out
    assert f"{log_key(bad_day)}:3: not valid JSON" in out
    assert "… 3 more (--limit to see them)" in out


def test_interval_parsing() -> None:
    assert [parse_interval(text) for text in ("90", "45s", "10m", "1h")] == [90, 45, 600, 3600]
    with pytest.raises(Exception, match="positive number"):
        parse_interval("soon")


def test_a_cycle_never_overlaps_another(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state = StatePaths(tmp_path / "state")
    config = _cycle(tmp_path / "nowhere", state)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with cycle_lock(state.root / "run.lock") as acquired:
            assert acquired
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        with caplog.at_level(logging.INFO, logger="ingest.run.scheduler"):
            assert run_every(config, 0.01, cycles=1) == 1
    finally:
        release.set()
        holder.join()
    assert "cycle 1 skipped: another cycle holds" in caplog.text
    assert "staging" not in caplog.text


def test_the_loop_survives_a_failed_cycle(
    pg_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARKIFY_SCHEMA", "sparkify")
    source = tmp_path / "raw"
    outcomes: list[bool] = []

    def after_cycle(number: int, ok: bool) -> None:
        outcomes.append(ok)
        if number == 1:
            shutil.copytree(RAW, source)  # the data arrives after the first cycle

    config = _cycle(source, StatePaths(tmp_path / "state"))
    with caplog.at_level(logging.INFO, logger="ingest.run.scheduler"):
        code = run_every(config, 0.01, cycles=2, after_cycle=after_cycle, idle_exit_code=99)

    assert outcomes == [False, True] and code == 0
    # then a cycle with nothing new builds nothing: the idle exit code (Airflow: skipped)
    assert run_every(config, 0.01, cycles=1, idle_exit_code=99) == 99
    assert run_every(config, 0.01, cycles=1) == 0
    assert "cycle 1 failed" in caplog.text and "the next cycle retries" in caplog.text
    plays = postgres_rows(pg_database, "select count(*) as n from sparkify.fct_songplays")
    assert plays[0]["n"] == 9


def _has_table(database: str, schema: str, table: str) -> bool:
    rows = postgres_rows(database, "select count(*) as n from information_schema.tables where "
                                   f"table_schema = '{schema}' and table_name = '{table}'")
    return bool(rows[0]["n"])


def test_a_cycle_with_nothing_new_runs_no_build_and_a_failed_build_is_retried(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.run.dbt
    from ingest.errors import IngestError

    monkeypatch.setenv("SPARKIFY_SCHEMA", "sparkify")
    raw = copy_handwritten(tmp_path)
    state = StatePaths(tmp_path / "state")
    config = _cycle(raw, state)
    assert run_cycle(config) is True
    plays = raw_rows(pg_database, "fct_songplays", "sparkify")

    connection = postgres_connect(pg_database)  # a mart gone: only a build brings it back
    with connection, connection.cursor() as cursor:
        cursor.execute("drop table sparkify.dim_users cascade")
    connection.close()
    assert run_cycle(config) is False
    assert not _has_table(pg_database, "sparkify", "dim_users"), "an idle cycle built"

    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 10, []))

    def failing_build(*_args: object, **_kwargs: object) -> None:
        raise IngestError("`dbt build` failed (injected)")

    with monkeypatch.context() as patch, pytest.raises(IngestError, match="injected"):
        patch.setattr(ingest.run.dbt, "run_dbt", failing_build)
        run_cycle(config)

    assert run_cycle(config) is True, "the failed build is retried with nothing new"
    assert _has_table(pg_database, "sparkify", "dim_users")
    assert raw_rows(pg_database, "fct_songplays", "sparkify") == plays + 10


def test_a_scheduled_cycle_tests_only_the_days_it_rebuilt(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    """An old day made wrong behind the pipeline's back: a cycle that rebuilds a new day
    passes (its tests read that day; no unit tests or seed, the project is unchanged),
    `dbt build` by hand runs every test and fails. A changed project is built in full at
    the next cycle, though nothing new was staged. A cycle after a successful build builds
    what reads the raw tables changed since (a new song: not the users; a new day: not the
    song dimensions). The cycles parse the project once and build on that parse, whatever
    days each hands dbt."""
    from ingest.errors import IngestError
    from ingest.paths import project_root
    from ingest.run.dbt import run_dbt

    caplog.set_level(logging.INFO, logger="ingest.run.dbt")
    monkeypatch.setenv("SPARKIFY_SCHEMA", "sparkify")
    raw = copy_handwritten(tmp_path)
    state = StatePaths(tmp_path / "state")
    config = _cycle(raw, state)
    assert run_cycle(config) is True
    # a build with another version of the project: the next cycle builds everything, with
    # the unit tests and the seed, though nothing new was staged
    marker = next((state.root / "builds").glob("*.built"))
    marker.write_text("the marts were built from everything staged, with project 0\n",
                      encoding="utf-8")
    assert run_cycle(config) is True
    kinds = _built_kinds()
    assert kinds["unit_test"] == 5 and kinds["seed"] == 1, kinds
    assert run_cycle(config) is False, "built with this project: nothing to do"
    _add_song(raw, "FFFFF", "Tame Impala", "Let It Happen", 467.0)
    assert run_cycle(config) is True
    built = _built_models()
    assert {"dim_songs", "dim_artists", "fct_songplays"} <= built, (
        "a new song: the song dimensions and the plays it may match are built")
    assert not built & {"int_events__deduplicated", "dim_users"}, "no log changed"
    assert raw_rows(pg_database, "dim_songs", "sparkify") == 9

    connection = postgres_connect(pg_database)  # a doubled play on 2018-11-01
    with connection, connection.cursor() as cursor:
        cursor.execute("insert into sparkify.fct_songplays select * from "
                       "sparkify.fct_songplays where start_date = '2018-11-01' limit 1")
    connection.close()

    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 10, []))
    assert run_cycle(config) is True
    assert raw_rows(pg_database, "fct_songplays", "sparkify") == len(
        postgres_rows(pg_database, "select distinct songplay_id from sparkify.fct_songplays")
    ) + 1, "the doubled play is still there"
    kinds = _built_kinds()
    assert "unit_test" not in kinds and "seed" not in kinds, kinds  # the project is unchanged
    # only log_data changed: what reads only the songs is left as it is, tests included
    assert _built_models() == READ_LOGS and kinds["test"] > 0, kinds

    assert [record.message for record in caplog.records].count(
        "dbt parse (kept for the builds that follow)") == 1


    with pytest.raises(IngestError, match="dbt build"):
        run_dbt(project_root(), ["build", "--select", "fct_songplays"], target="postgres")


def _add_song(raw: Path, letters: str, artist: str, title: str, duration: float) -> None:
    """A new song file in the raw folder `raw`: track TRA<letters>…, song SO<letters>…"""
    track = f"TRA{letters}128F4230099"
    song = raw / "song_data" / track[2] / track[3] / track[4] / f"{track}.json"
    song.parent.mkdir(parents=True, exist_ok=True)
    song.write_text(json.dumps({
        "num_songs": 1, "artist_id": f"AR{letters}1187B990099", "artist_latitude": None,
        "artist_longitude": None, "artist_location": "", "artist_name": artist,
        "song_id": f"SO{letters}12AB0000099", "title": title, "duration": duration,
        "year": 2001}), encoding="utf-8")


# the models that read the raw log_data (the others read only song_data)
READ_LOGS = {"stg_sparkify__events", "int_events__deduplicated", "int_users__latest_attributes",
             "int_songplays__matched_to_songs", "fct_songplays", "dim_users", "dim_time"}


def _built_models() -> set[str]:
    """The models the last `dbt build` of the project ran."""
    return {str(item["unique_id"]).split(".")[-1] for item in _run_results()["results"]
            if str(item["unique_id"]).startswith("model.")}


def _run_results() -> dict[str, Any]:
    from ingest.paths import dbt_target_dir, project_root
    from ingest.settings import ReportSettings

    target = dbt_target_dir(ReportSettings.read().target_path, project_root())
    results: dict[str, Any] = json.loads((target / "run_results.json").read_text(
        encoding="utf-8"))
    return results


def _built_kinds() -> dict[str, int]:
    """How many nodes of each kind the last `dbt build` of the project ran."""
    kinds: dict[str, int] = {}
    for item in _run_results()["results"]:
        kind = str(item["unique_id"]).split(".", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def test_a_cycle_matches_songs_again_only_when_the_ledger_says_songs_changed(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle after a successful build hands dbt the raw tables its ledger says changed
    since (var changed_raw_tables): with only a new day of logs, the incremental models do
    not look for plays that new songs may match. A song slipped into the raw table behind
    the ledger's back is therefore not matched by that cycle, and is by a build that is not
    told (`dbt build` by hand)."""
    from ingest.paths import project_root
    from ingest.run.dbt import DbtVars, Schemas, run_dbt

    raw, config, _ = _built_once(pg_database, tmp_path, monkeypatch)
    unmatched = ("select count(*) as n from sparkify.fct_songplays where song_id is null "
                 "and start_date = '2018-11-01'")
    before = postgres_rows(pg_database, unmatched)[0]["n"]
    connection = postgres_connect(pg_database)  # the play of "Unknown Song" by "Nobody"
    with connection, connection.cursor() as cursor:
        cursor.execute("insert into sparkify_raw.song_data (num_songs, artist_id, "
                       "artist_name, song_id, title, duration, year, _source_key, "
                       "_ingested_at) values (1, 'ARNOBODY', 'Nobody', 'SONOBODY', "
                       "'Unknown Song', 200.0, 2000, 'behind-the-ledger', "
                       "now() + interval '1 day')")
    connection.close()

    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 10, []))
    assert run_cycle(config) is True
    assert postgres_rows(pg_database, unmatched)[0]["n"] == before, "songs were read"
    run_dbt(project_root(), ["build"], "postgres", DbtVars(Schemas("sparkify_raw", "sparkify")))
    assert postgres_rows(pg_database, unmatched)[0]["n"] == before - 1


def test_a_stage_by_hand_makes_the_next_cycle_build(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows staged outside the scheduler: its next cycle finds nothing new to stage, and
    builds all the same, since the marts are behind them."""
    raw, config, plays = _built_once(pg_database, tmp_path, monkeypatch)

    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 10, []))
    assert main(["stage", "--target", "postgres", "--source", str(raw)]) == 0
    assert run_cycle(config) is True, "the rows staged by hand were not built"
    assert raw_rows(pg_database, "fct_songplays", "sparkify") == plays + 10
    assert run_cycle(config) is False


def test_a_stage_committed_during_a_build_is_built_by_the_next_cycle(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's sparkify_daily stages while sparkify_every_10_minutes builds: the stage
    commits after `dbt build` read the raw tables and before the cycle writes its marker
    (injected deterministically, right after dbt returns). The marker records the ledger
    mark the build read, so the next cycle, though it finds nothing new to stage, builds."""
    import ingest.run.dbt

    raw, config, plays = _built_once(pg_database, tmp_path, monkeypatch)
    day = dt.date(2018, 11, 3)
    real_run_dbt = ingest.run.dbt.run_dbt
    staged_during: list[int] = []

    def build_then_stage(*args: object, **kwargs: object) -> object:
        result = real_run_dbt(*args, **kwargs)  # type: ignore[arg-type]
        if not staged_during:  # the other DAG's stage, between the build and its marker
            (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 10, []))
            staged_during.append(main(["stage", "--target", "postgres", "--source", str(raw)]))
        return result

    (raw / log_key(dt.date(2018, 11, 4))).write_bytes(
        log_with_bad_lines(dt.date(2018, 11, 4), 5, []))
    with monkeypatch.context() as patch:
        patch.setattr(ingest.run.dbt, "run_dbt", build_then_stage)
        assert run_cycle(config) is True
    assert staged_during == [0]
    assert raw_rows(pg_database, "fct_songplays", "sparkify") == plays + 5, (
        "the build ran before the interleaved stage committed")

    assert run_cycle(config) is True, "the rows staged during the build were not built"
    assert raw_rows(pg_database, "fct_songplays", "sparkify") == plays + 15
    built_days = postgres_rows(pg_database, "select count(*) as n from sparkify.fct_songplays "
                                            "where start_date = '2018-11-03'")
    assert built_days[0]["n"] == 10
    assert run_cycle(config) is False, "built from the ledger as it is: nothing to do"


def test_a_song_staged_during_a_build_is_matched_by_the_next_cycle(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A song staged by hand while a cycle's build runs (after the build read the raw
    tables, before the marker): the next cycle stages only a new day of logs, yet the ledger
    says the songs changed since the last build too, so it builds what reads them and
    matches the old play the new song fits."""
    import ingest.run.dbt

    raw, config, _ = _built_once(pg_database, tmp_path, monkeypatch)
    unmatched = ("select count(*) as n from sparkify.fct_songplays where song_id is null "
                 "and start_date = '2018-11-01'")
    before = postgres_rows(pg_database, unmatched)[0]["n"]
    real_run_dbt = ingest.run.dbt.run_dbt
    staged_during: list[int] = []

    def build_then_stage_a_song(*args: object, **kwargs: object) -> object:
        result = real_run_dbt(*args, **kwargs)  # type: ignore[arg-type]
        if not staged_during:  # the play of "Unknown Song" by "Nobody", 200.0 s
            _add_song(raw, "NOBOD", "Nobody", "Unknown Song", 200.0)
            staged_during.append(main(["stage", "--target", "postgres", "--source", str(raw)]))
        return result

    day = dt.date(2018, 11, 4)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 5, []))
    with monkeypatch.context() as patch:
        patch.setattr(ingest.run.dbt, "run_dbt", build_then_stage_a_song)
        assert run_cycle(config) is True
    assert staged_during == [0]
    assert postgres_rows(pg_database, unmatched)[0]["n"] == before, "built before the song"

    day = dt.date(2018, 11, 5)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 5, []))
    assert run_cycle(config) is True
    assert "dim_songs" in _built_models(), "the songs changed since the last build"
    assert raw_rows(pg_database, "dim_songs", "sparkify") == 9
    assert postgres_rows(pg_database, unmatched)[0]["n"] == before - 1


def _plays_on(database: str, day: dt.date) -> dict[str, int]:
    """The rows of `day` in each table incremental by day."""
    tables = {"sparkify.fct_songplays": "start_date", "sparkify.dim_time": "start_date",
              "sparkify_intermediate.int_events__deduplicated": "event_date",
              "sparkify_intermediate.int_songplays__matched_to_songs": "event_date"}
    return {table: postgres_rows(database, f"select count(*) as n from {table} "
                                           f"where {column} = '{day.isoformat()}'")[0]["n"]
            for table, column in tables.items()}


def test_a_pruned_object_leaves_the_marts_at_the_next_build(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`stage --prune` of a day already built, by hand and in a cycle: the next build
    removes that day from every model incremental by day (they replace only the days their
    new rows cover), and its data tests, the raw-to-fact reconciliation among them, pass."""
    monkeypatch.setenv("SPARKIFY_SCHEMA", "sparkify")
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    raw = copy_handwritten(tmp_path)
    state = StatePaths(tmp_path / "state")
    config = _cycle(raw, state)
    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).parent.mkdir(parents=True, exist_ok=True)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 10, []))
    assert run_cycle(config) is True
    plays = raw_rows(pg_database, "fct_songplays", "sparkify")
    assert set(_plays_on(pg_database, day).values()) == {10}

    (raw / log_key(day)).unlink()
    assert main(["stage", "--target", "postgres", "--source", str(raw), "--prune"]) == 0
    assert run_cycle(config) is True, "the pruned day was not built"
    assert set(_plays_on(pg_database, day).values()) == {0}
    assert raw_rows(pg_database, "fct_songplays", "sparkify") == plays - 10
    assert run_cycle(config) is False, "the pruned day stays removed: nothing to do"

    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 10, []))  # back, then pruned
    assert run_cycle(config) is True  # by a cycle that stages with --prune
    assert set(_plays_on(pg_database, day).values()) == {10}
    (raw / log_key(day)).unlink()
    pruning = _cycle(raw, state, StageOptions(prune=True))
    assert run_cycle(pruning) is True
    assert set(_plays_on(pg_database, day).values()) == {0}
    assert not list((state.root / "builds").glob("*.pruned")), "every pruned day was built"
