"""What the staging core promises, one observation of issue 12 per test, on real engines.

Path traversal in S3 keys, upper-case `*.JSON`, a missing raw folder, a local rewrite that
keeps size and mtime, errors that name the object and line (or the setting) and what to do.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from ingest.aws import s3_client
from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.raw.sources import S3Source
from ingest.raw.upload import upload
from ingest.stage.landing.ledger import ledger_entries
from tests.support.project import (
    FIXTURES,
    copy_handwritten,
    postgres_connect,
    postgres_rows,
    raw_rows,
)
from tests.support.raw_lines import log_key, log_with_bad_lines
from tests.support.staging import land, landing_of, stage_postgres

RAW = FIXTURES / "raw_handwritten"


def _statuses(database: str) -> dict[str, tuple[str, str | None]]:
    rows = postgres_rows(database, "select object_key, status, reason "
                                   "from sparkify_raw._loaded_objects")
    return {row["object_key"]: (row["status"], row["reason"]) for row in rows}


def test_s3_keys_that_would_escape_are_rejected_and_touch_nothing_outside(
    tmp_path: Path, s3_endpoint: str
) -> None:
    upload(RAW, "s3://raw-bucket/raw")
    client = s3_client()
    day = dt.date(2018, 11, 5)
    hostile = {
        "raw/log_data/../../../../escaped-events.json": "'..' path segment",
        "raw/log_data/2018/../../../outside.json": "'..' path segment",
        "raw/log_data//2018/11/2018-11-05-events.json": "empty",
        "raw/log_data/./2018-11-05-events.json": "'.'",
    }
    for key in hostile:
        client.put_object(Bucket="raw-bucket", Key=key, Body=log_with_bad_lines(day, 5, []))
    state = StatePaths(tmp_path / "state")
    archive = tmp_path / "archive" / "inner"

    from ingest.raw.archive import ArchiveRequest
    from ingest.stage.core import StageOptions

    land("s3://raw-bucket/raw", state,
                  StageOptions(archive=ArchiveRequest(str(archive), delete=True)))

    entries, _lines = ledger_entries(landing_of(state, "s3://raw-bucket/raw"))
    rejected = {entry.key: entry for entry in entries if entry.status == "rejected"}
    assert sorted(rejected) == sorted(key.removeprefix("raw/") for key in hostile)
    for key, reason in hostile.items():
        assert reason in (rejected[key.removeprefix("raw/")].reason or "")
    written = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*")
               if path.is_file()}
    assert not any("escaped" in path or "outside" in path for path in written), written
    assert all(path.startswith(("state/", "archive/inner/")) for path in written), written
    remaining = {item["Key"] for item in client.list_objects_v2(
        Bucket="raw-bucket", Prefix="raw/")["Contents"]}
    assert set(hostile) <= remaining, "rejected objects are neither archived nor deleted"


def test_upper_case_json_objects_are_staged_and_other_files_are_reported(
    pg_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raw = copy_handwritten(tmp_path)
    day = dt.date(2018, 11, 6)
    shouting = raw / log_key(day).replace(".json", ".JSON")
    shouting.write_bytes(log_with_bad_lines(day, 7, []))
    (raw / "log_data" / "README.txt").write_text("not data")
    caplog.set_level("INFO", logger="ingest")

    stage_postgres(str(raw))

    key = shouting.relative_to(raw).as_posix()
    assert _statuses(pg_database)[key] == ("loaded", None)
    assert postgres_rows(pg_database, "select count(*) as n from sparkify_raw.log_data "
                                      f"where _source_key = '{key}'")[0]["n"] == 7
    assert "1 files are not *.json" in caplog.text and "README.txt" in caplog.text


def test_upper_case_json_objects_land_where_the_spark_table_reads(tmp_path: Path) -> None:
    raw = copy_handwritten(tmp_path)
    day = dt.date(2018, 11, 6)
    (raw / log_key(day).replace(".json", ".JSON")).write_bytes(log_with_bad_lines(day, 7, []))

    _songs, logs, report = land(str(raw), StatePaths(tmp_path / "state"))

    assert report.rows["log_data"] == 16 + 7
    landed = [path.name for path in (Path(logs) / "event_date=2018-11-06").glob("*.parquet")]
    assert [name.startswith("2018-11-06-events.JSON-") for name in landed] == [True], landed


@pytest.mark.parametrize("vanish", ["log_data", "song_data"])
def test_a_missing_raw_folder_is_an_error_that_changes_nothing(
    pg_database: str, tmp_path: Path, vanish: str
) -> None:
    raw = copy_handwritten(tmp_path)
    stage_postgres(str(raw))
    before = (raw_rows(pg_database, "song_data"), raw_rows(pg_database, "log_data"))
    shutil.move(raw / vanish, tmp_path / "moved")

    with pytest.raises(IngestError, match=f"{vanish}/ is missing or empty.*nothing was changed"):
        stage_postgres(str(raw))

    assert (raw_rows(pg_database, "song_data"), raw_rows(pg_database, "log_data")) == before
    assert len(_statuses(pg_database)) == 10


def test_a_local_rewrite_with_the_same_size_and_mtime_is_noticed(
    pg_database: str, tmp_path: Path
) -> None:
    raw = copy_handwritten(tmp_path)
    day = raw / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    stage_postgres(str(raw))
    original = day.read_bytes()
    before = os.stat(day)
    changed = original.replace(b'"level":"free"', b'"level":"paid"', 1)
    assert changed != original and len(changed) == len(original)
    day.write_bytes(changed)
    os.utime(day, ns=(before.st_atime_ns, before.st_mtime_ns))

    loads = {load.table: load for load in stage_postgres(str(raw))}

    assert loads["log_data"].objects_loaded == 1
    key = day.relative_to(raw).as_posix()
    paid = postgres_rows(pg_database, "select count(*) as n from sparkify_raw.log_data "
                                      f"where level = 'paid' and _source_key = '{key}'")
    assert paid[0]["n"] == changed.count(b'"level":"paid"')


def test_a_copy_failure_names_the_object_and_line(pg_database: str, tmp_path: Path) -> None:
    raw = copy_handwritten(tmp_path)
    stage_postgres(str(raw))
    connection = postgres_connect(pg_database)
    with connection, connection.cursor() as cursor:  # an operator narrowed a column by hand
        cursor.execute("alter table sparkify_raw.log_data alter column status type "
                       "varchar(2) using status::varchar(2)")
    connection.close()
    day = dt.date(2018, 11, 7)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 4, []))

    with pytest.raises(IngestError) as caught:
        stage_postgres(str(raw))

    message = str(caught.value)
    assert f"at {log_key(day)} line 1" in message, message
    assert "nothing of this batch was committed" in message
    assert log_key(day) not in _statuses(pg_database)


def test_a_missing_object_is_not_reported_as_a_missing_bucket(s3_endpoint: str) -> None:
    upload(RAW, "s3://raw-bucket/raw")
    source = S3Source("s3://raw-bucket/raw")
    with pytest.raises(IngestError) as caught:
        source.read("log_data/2099/01/2099-01-01-events.json")
    assert "the object does not exist" in str(caught.value)
    assert "the bucket does not exist" not in str(caught.value)


@pytest.mark.parametrize("blocked", ["state", "landing"])
def test_an_unwritable_state_folder_is_one_clear_error(
    tmp_path: Path, blocked: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ingest.cli import main

    raw = copy_handwritten(tmp_path)
    state = tmp_path / "state"
    if blocked == "state":  # not a folder at all (as root, a mode bit would not stop us)
        state.write_text("a file where the state folder should be")
    else:
        state.mkdir()
        (state / "landing").write_text("a file where the landing folder should be")
    # monkeypatch restores the session's state folder afterwards (a `del` would unset it for
    # every later test: the Spark tests' state would move to the project's .state)
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(state))
    code = main(["stage", "--target", "spark", "--source", str(raw)])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: cannot ") and str(state) in last, last
