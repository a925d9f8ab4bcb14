"""Staging into PostgreSQL with COPY FROM STDIN: idempotent, atomic per batch, clear errors."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ingest.cli import main
from ingest.errors import IngestError
from ingest.raw.upload import upload
from ingest.run.dbt import run_dbt
from ingest.warehouse import ConnectionSettings
from tests.support.cross_engine import assert_same_marts, export_marts
from tests.support.expected_marts import build_expected_marts
from tests.support.project import FIXTURES, PROJECT_DIR, postgres_connect, postgres_rows
from tests.support.raw_lines import BAD_LINES, EXPECTED_BAD, log_key, log_with_bad_lines
from tests.support.staging import stage_postgres

pytestmark = pytest.mark.postgres

RAW = FIXTURES / "raw_handwritten"


def _counts(database: str) -> dict[str, int]:
    sql = """
        select 'song_data' as name, count(*) as n from sparkify_raw.song_data
        union all select 'log_data', count(*) from sparkify_raw.log_data
        union all select 'ledger', count(*) from sparkify_raw._loaded_objects
    """
    return {row["name"]: int(row["n"]) for row in postgres_rows(database, sql)}


def _copy_raw(tmp_path: Path) -> Path:
    shutil.copytree(RAW, tmp_path / "raw")
    return tmp_path / "raw"


def test_stage_from_s3_twice_adds_no_rows(pg_database: str, s3_endpoint: str) -> None:
    upload(RAW, "s3://raw-bucket/raw")

    first = stage_postgres("s3://raw-bucket/raw", batch_objects=3)
    assert [(load.table, load.objects_loaded, load.rows_loaded) for load in first] == [
        ("song_data", 8, 8), ("log_data", 2, 16)]
    assert _counts(pg_database) == {"song_data": 8, "log_data": 16, "ledger": 10}

    second = stage_postgres("s3://raw-bucket/raw", batch_objects=3)
    assert [(load.objects_loaded, load.objects_unchanged) for load in second] == [(0, 8), (0, 2)]
    assert _counts(pg_database) == {"song_data": 8, "log_data": 16, "ledger": 10}

    user_agents = postgres_rows(pg_database, "select useragent, userid from sparkify_raw.log_data "
                                             "where useragent like '%Mozilla/5.0%' limit 1")
    assert user_agents[0]["useragent"].startswith('"Mozilla/5.0 (')  # \/ unescaped, quotes kept
    logged_out = postgres_rows(pg_database, "select count(*) as n from sparkify_raw.log_data "
                                            "where userid = ''")
    assert logged_out[0]["n"] > 0  # "" stays "", not NULL: the staging model decides


def test_changed_object_replaces_its_rows_and_vanished_object_loses_them_with_prune(
    pg_database: str, tmp_path: Path
) -> None:
    raw = _copy_raw(tmp_path)
    stage_postgres(str(raw))
    day = raw / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    lines = [line for line in day.read_bytes().split(b"\n") if line.strip()]
    day.write_bytes(b"\n".join(lines[:-1]))
    song = sorted((raw / "song_data").rglob("*.json"))[0]
    song.unlink()

    loads = {load.table: load for load in stage_postgres(str(raw))}

    assert (loads["log_data"].objects_loaded, loads["log_data"].rows_loaded) == (1, len(lines) - 1)
    assert (loads["song_data"].objects_removed, loads["song_data"].objects_vanished) == (0, 1)
    assert _counts(pg_database) == {"song_data": 8, "log_data": 15, "ledger": 10}, (
        "absence alone removes nothing")

    loads = {load.table: load for load in stage_postgres(str(raw), prune=True)}
    assert loads["song_data"].objects_removed == 1
    assert _counts(pg_database) == {"song_data": 7, "log_data": 15, "ledger": 9}


def _quarantine(database: str) -> list[tuple[str, int, str]]:
    rows = postgres_rows(database, "select object_key, line_number, reason from "
                                   "sparkify_raw._quarantined_lines order by line_number")
    return [(row["object_key"], row["line_number"], row["reason"]) for row in rows]


def _ledger(database: str, key: str) -> dict[str, object]:
    (row,) = postgres_rows(database, "select * from sparkify_raw._loaded_objects "
                                     f"where object_key = '{key}'")
    return row


def test_bad_lines_are_quarantined_and_the_good_lines_load(
    pg_database: str, tmp_path: Path
) -> None:
    raw = _copy_raw(tmp_path)
    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 1000, BAD_LINES))

    loads = {load.table: load for load in stage_postgres(str(raw))}

    assert (loads["log_data"].rows_loaded, loads["log_data"].rows_quarantined) == (16 + 995, 5)
    assert _counts(pg_database)["log_data"] == 16 + 995
    quarantined = _quarantine(pg_database)
    assert [(key, line) for key, line, _reason in quarantined] == [
        (log_key(day), line) for line, _reason in EXPECTED_BAD]
    for (_key, _line, reason), (_number, expected) in zip(quarantined, EXPECTED_BAD,
                                                          strict=True):
        assert expected in reason
    entry = _ledger(pg_database, log_key(day))
    assert (entry["status"], entry["rows_loaded"], entry["rows_quarantined"]) == (
        "quarantined", 995, 5)
    # reconciliation, per object: non-blank lines = loaded + quarantined
    non_blank = sum(1 for line in (raw / log_key(day)).read_bytes().split(b"\n") if line.strip())
    assert non_blank == entry["rows_loaded"] + entry["rows_quarantined"]
    assert entry["blank_lines"] == 1


def test_a_truncated_object_stays_pending_then_loads_once_fixed(
    pg_database: str, tmp_path: Path
) -> None:
    raw = _copy_raw(tmp_path)
    day = dt.date(2018, 11, 3)
    whole = log_with_bad_lines(day, 20, [])
    (raw / log_key(day)).write_bytes(whole[: len(whole) - 40])  # cut in the last record

    for attempt in (1, 2):
        loads = {load.table: load for load in stage_postgres(str(raw), max_attempts=3)}
        assert loads["log_data"].objects_pending == 1
        entry = _ledger(pg_database, log_key(day))
        assert (entry["status"], entry["attempts"]) == ("pending", attempt)
        assert "truncated" in str(entry["reason"])
        assert _counts(pg_database)["log_data"] == 16

    (raw / log_key(day)).write_bytes(whole)
    loads = {load.table: load for load in stage_postgres(str(raw), max_attempts=3)}
    assert (loads["log_data"].objects_loaded, loads["log_data"].rows_loaded) == (1, 20)
    assert _ledger(pg_database, log_key(day))["status"] == "loaded"
    assert _counts(pg_database)["log_data"] == 36


def test_an_object_that_is_not_utf8_is_rejected_at_once_and_not_retried(
    pg_database: str, tmp_path: Path
) -> None:
    raw = _copy_raw(tmp_path)
    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).write_bytes(b"\xff\xfe not utf-8")
    first = {load.table: load for load in stage_postgres(str(raw), max_attempts=2)}
    assert first["log_data"].objects_rejected == 1
    entry = _ledger(pg_database, log_key(day))
    assert (entry["status"], entry["attempts"]) == ("rejected", 1)
    assert "not UTF-8" in str(entry["reason"])
    loads = {load.table: load for load in stage_postgres(str(raw), max_attempts=2)}
    assert (loads["log_data"].objects_failed, loads["log_data"].objects_pending) == (1, 0)
    assert _ledger(pg_database, log_key(day))["attempts"] == 1, "not read again"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": "free"}, r"cannot reach postgres at 127\.0\.0\.1:\d+ .*is the server running"),
        ({"user": "no_such_user_x"}, r"user 'no_such_user_x' does not exist"),
    ],
)
def test_connection_problems_are_clear(change: dict[str, str], message: str) -> None:
    settings = ConnectionSettings.from_env("postgres")
    values = {"host": settings.host, "port": settings.port, "user": settings.user,
              "database": settings.database}
    for key, value in change.items():
        values[key] = _free_port() if value == "free" else value
    broken = ConnectionSettings("postgres", str(values["host"]), int(values["port"]),
                                str(values["user"]), str(values["database"]))
    with pytest.raises(IngestError, match=message):
        stage_postgres(str(RAW), settings=broken)


@contextmanager
def _admin() -> Iterator[Any]:
    connection = postgres_connect("postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def test_cli_stage_creates_a_missing_database_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = f"sparkify_new_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("SPARKIFY_PG_DATABASE", name)
    caplog.set_level(logging.INFO, logger="ingest")
    try:
        code = main(["stage", "--target", "postgres", "--source", str(RAW)])
        said = caplog.text + capsys.readouterr().err
        assert code == 0, said
        assert f"database '{name}' did not exist on postgres at" in said
        assert ": created it" in said and "Traceback" not in said
        assert _counts(name)["log_data"] > 0
        # the next stage finds it: nothing is created again
        caplog.clear()
        assert main(["stage", "--target", "postgres", "--source", str(RAW)]) == 0
        assert "created it" not in caplog.text + capsys.readouterr().err
    finally:
        with _admin() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')


def test_a_missing_database_the_user_may_not_create_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    role = f"sparkify_nocreate_{uuid.uuid4().hex[:8]}"
    name = f"sparkify_new_{uuid.uuid4().hex[:10]}"
    with _admin() as cursor:
        cursor.execute(f'create role "{role}" login nocreatedb nosuperuser')
    try:
        monkeypatch.setenv("SPARKIFY_PG_USER", role)
        monkeypatch.setenv("SPARKIFY_PG_DATABASE", name)
        code = main(["stage", "--target", "postgres", "--source", str(RAW)])
        err = capsys.readouterr().err
        assert code == 2
        assert (f"error: database '{name}' does not exist on postgres at" in err
                and f"user '{role}' may not create databases" in err
                and f"createdb {name}" in err), err
        assert "Traceback" not in err
        with _admin() as cursor:
            cursor.execute("select count(*) from pg_database where datname = %s", (name,))
            assert cursor.fetchone() == (0,)
    finally:
        monkeypatch.undo()  # the admin connection as the test's own user again
        with _admin() as cursor:
            cursor.execute(f'drop role if exists "{role}"')


def test_dbt_build_before_any_stage_stops_first_and_says_what_to_run(
    pg_database: str, tmp_path: Path
) -> None:
    """The on-run-start check (macros/hooks/require_raw_tables.sql): no model runs, and the
    message names the missing tables and the command that stages them."""
    dbt = str(Path(sys.executable).with_name("dbt"))
    done = subprocess.run(
        [dbt, "build", "--project-dir", str(PROJECT_DIR), "--profiles-dir",
         str(PROJECT_DIR / "profiles"), "--target", "postgres", "--target-path",
         str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        capture_output=True, text=True, check=False)
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    assert ("the raw tables sparkify_raw.log_data, sparkify_raw.song_data do not exist on "
            "target postgres yet") in said, said
    assert "python -m ingest stage --target postgres --source" in said
    assert "Traceback" not in said
    # dbt made its schemas before the hook ran, but no model ran
    built = postgres_rows(pg_database, "select table_schema, table_name from "
                          "information_schema.tables where table_schema like 'sparkify%'")
    assert built == [], "nothing was built"
    # unit tests read no raw table: they run without a stage
    unit = subprocess.run(
        [dbt, "build", "--select", "test_type:unit", "--project-dir", str(PROJECT_DIR),
         "--profiles-dir", str(PROJECT_DIR / "profiles"), "--target", "postgres",
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        capture_output=True, text=True, check=False)
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_cli_stage_then_dbt_build_on_postgres(pg_database: str, tmp_path: Path) -> None:
    assert main(["stage", "--target", "postgres", "--source", str(RAW)]) == 0
    run_dbt(PROJECT_DIR, ["build", "--target-path", str(tmp_path / "target")], target="postgres")

    postgres = export_marts(
        lambda mart: postgres_rows(pg_database, f"select * from sparkify.{mart}")
    )
    expected = build_expected_marts(RAW, PROJECT_DIR / "seeds" / "us_states.csv")
    assert_same_marts({"expected": export_marts(lambda mart: expected[mart]),
                       "postgres": postgres})
    # no event_date in the raw table: the staging model computes it from ts
    (dates,) = postgres_rows(pg_database, "select count(*) as n, count(event_date) as dated, "
                             "sum(case when event_date = cast(start_time as date) then 1 "
                             "else 0 end) as same from sparkify_staging.stg_sparkify__events")
    assert dates["n"] > 0 and dates["n"] == dates["dated"] == dates["same"], dates
    (kind,) = postgres_rows(pg_database, "select data_type from information_schema.columns "
                            "where table_name = 'stg_sparkify__events' "
                            "and column_name = 'event_date'")
    assert kind["data_type"] == "date"
