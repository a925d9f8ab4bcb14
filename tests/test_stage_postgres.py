"""Staging into PostgreSQL with COPY FROM STDIN: idempotent, atomic per batch, clear errors."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from ingest.cli import main
from ingest.dbt import run_dbt
from ingest.errors import IngestError
from ingest.stage_postgres import stage_postgres
from ingest.upload import upload
from ingest.warehouse import ConnectionSettings

from .conftest import FIXTURES, PROJECT_DIR, postgres_rows
from .cross_engine import assert_same_marts, export_marts
from .expected_marts import build_expected_marts

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


def test_changed_object_replaces_its_rows_and_vanished_object_loses_them(
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
    assert loads["song_data"].objects_removed == 1
    assert _counts(pg_database) == {"song_data": 7, "log_data": 15, "ledger": 9}


def test_bad_line_rolls_back_its_batch_only_and_a_rerun_finishes(
    pg_database: str, tmp_path: Path
) -> None:
    raw = _copy_raw(tmp_path)
    bad = raw / "log_data" / "2018" / "11" / "2018-11-03-events.json"
    good_line = (raw / "log_data" / "2018" / "11" / "2018-11-02-events.json").read_bytes()
    good_line = good_line.split(b"\n")[0]
    bad.write_bytes(good_line + b"\n\n{\"artist\": \"cut off in the mid")

    with pytest.raises(IngestError, match=r"2018-11-03-events\.json line 3: not valid JSON"):
        stage_postgres(str(raw), batch_objects=1)
    # both earlier log files (one batch each) are in; the bad file's batch left nothing
    assert _counts(pg_database) == {"song_data": 8, "log_data": 16, "ledger": 10}

    bad.write_bytes(good_line + b"\n")
    loads = {load.table: load for load in stage_postgres(str(raw), batch_objects=1)}
    assert (loads["log_data"].objects_loaded, loads["log_data"].objects_unchanged) == (1, 2)
    assert _counts(pg_database) == {"song_data": 8, "log_data": 17, "ledger": 11}


def test_wrong_type_is_reported_with_file_line_and_field(pg_database: str, tmp_path: Path) -> None:
    raw = _copy_raw(tmp_path)
    bad = raw / "log_data" / "2018" / "11" / "2018-11-03-events.json"
    bad.write_text('{"sessionId": "345", "ts": 1541203200000}', encoding="utf-8")

    with pytest.raises(IngestError, match=r"line 1: field 'sessionId' is \"345\", expected an "
                                          r"integer"):
        stage_postgres(str(raw))
    # all three log files were one batch: none of its rows are in, not even the good files'
    assert _counts(pg_database) == {"song_data": 8, "log_data": 0, "ledger": 8}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": "free"}, r"cannot reach postgres at 127\.0\.0\.1:\d+ .*is the server running"),
        ({"database": "no_such_database_x"}, r"database 'no_such_database_x' does not exist"),
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


def test_cli_reports_a_missing_database_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPARKIFY_PG_DATABASE", "no_such_database_y")
    code = main(["stage", "--target", "postgres", "--source", str(RAW)])
    err = capsys.readouterr().err
    assert code == 2
    assert "error: database 'no_such_database_y' does not exist" in err
    assert "Traceback" not in err


def test_cli_stage_then_dbt_build_on_postgres(pg_database: str, tmp_path: Path) -> None:
    assert main(["stage", "--target", "postgres", "--source", str(RAW)]) == 0
    run_dbt(PROJECT_DIR, ["build", "--target-path", str(tmp_path / "target")], target="postgres")

    postgres = export_marts(
        lambda mart: postgres_rows(pg_database, f"select * from sparkify.{mart}")
    )
    expected = build_expected_marts(RAW, PROJECT_DIR / "seeds" / "us_states.csv")
    assert_same_marts({"expected": export_marts(lambda mart: expected[mart]),
                       "postgres": postgres})
