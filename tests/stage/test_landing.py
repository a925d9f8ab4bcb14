"""The verified landing for Spark: only new objects are processed; bad lines quarantined."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import ingest.stage.verifiers as verifiers_module
from ingest.aws import s3_client
from ingest.errors import IngestError
from ingest.raw.sources import open_source, parse_source
from ingest.raw.upload import upload
from ingest.stage.core import StageOptions, StageReport, stage
from ingest.stage.landing.format import arrow_schema, log_file_name
from ingest.stage.landing.ledger import ledger_entries
from ingest.stage.landing.sink import LandingSink
from tests.support.project import FIXTURES
from tests.support.raw_lines import BAD_LINES, EXPECTED_BAD, good_event, log_key, log_with_bad_lines

RAW = FIXTURES / "raw_handwritten"


def _land(source_uri: str, landing: Path, **options: object) -> StageReport:
    sink = LandingSink(landing)
    try:
        return stage(open_source(parse_source(source_uri)), sink, StageOptions(**options),  # type: ignore[arg-type]
                     locks=landing.parent / "locks", lock_identity=("test", str(landing)))
    finally:
        sink.close()


def _records(path: Path) -> list[dict[str, object]]:
    return pq.read_table(path).to_pylist()


def _log_file(verified: Path, key: str, day: dt.date) -> Path:
    """Where the events of one log object on one day land."""
    return verified / "log_data" / f"event_date={day.isoformat()}" / log_file_name(key)


def test_s3_objects_land_verified_once_and_changes_touch_only_their_files(
    tmp_path: Path, s3_endpoint: str
) -> None:
    upload(RAW, "s3://raw-bucket/raw")
    landing = tmp_path / "landing"

    first = _land("s3://raw-bucket/raw", landing)
    assert first.rows == {"song_data": 8, "log_data": 16}
    verified = landing / "verified"
    buckets = sorted(path.name for path in (verified / "song_data").iterdir())
    assert buckets == ["A.parquet"], "the eight song files of folder A/ gathered into one file"
    assert pq.read_schema(verified / "song_data" / "A.parquet").equals(
        arrow_schema("song_data"))
    key = "log_data/2018/11/2018-11-01-events.json"
    days = sorted(path.name for path in (verified / "log_data").iterdir())
    assert days == ["event_date=2018-11-01", "event_date=2018-11-02"]
    day = _log_file(verified, key, dt.date(2018, 11, 1))
    assert pq.read_schema(day).equals(arrow_schema("log_data"))
    record = _records(day)[0]
    assert record["_source_key"] == key
    stamp = record["_ingested_at"]
    assert isinstance(stamp, dt.datetime) and stamp.tzinfo is not None and stamp.year >= 2026

    second = _land("s3://raw-bucket/raw", landing)
    assert not second.changed

    stamp = day.stat().st_mtime_ns
    client = s3_client()
    new_song = {"num_songs": 1, "artist_id": "ARNEW0000000000001", "artist_latitude": None,
                "artist_longitude": None, "artist_location": "", "artist_name": "New",
                "song_id": "SONEW0000000000001", "title": "Fresh", "duration": 100.0,
                "year": 0}
    client.put_object(Bucket="raw-bucket", Key="raw/song_data/B/C/D/TRBCDNEW128F4230009.json",
                      Body=json.dumps(new_song).encode())
    third = _land("s3://raw-bucket/raw", landing)
    assert [len(plan.process) for plan in third.plans.values()] == [1, 0]
    assert day.stat().st_mtime_ns == stamp, "an unchanged log file is not rewritten"
    assert sorted(path.name for path in (verified / "song_data").iterdir()) == [
        "A.parquet", "B.parquet"]
    assert third.rows == {"song_data": 9, "log_data": 16}


def test_bad_lines_quarantined_good_lines_land_and_reconcile(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 1000, BAD_LINES))

    result = _land(str(raw), tmp_path / "landing")

    landed = _records(_log_file(tmp_path / "landing" / "verified", log_key(day), day))
    assert len(landed) == 995
    entries, quarantined = ledger_entries(tmp_path / "landing")
    (entry,) = [entry for entry in entries if entry.key == log_key(day)]
    assert (entry.status, entry.rows_loaded, entry.rows_quarantined, entry.blank_lines) == (
        "quarantined", 995, 5, 1)
    assert [row[2] for row in quarantined] == [line for line, _reason in EXPECTED_BAD]
    for row, (_line, reason) in zip(quarantined, EXPECTED_BAD, strict=True):
        assert reason in row[3]
    for entry in entries:  # reconciliation for every object
        lines = (raw / entry.key).read_bytes().split(b"\n")
        assert sum(1 for line in lines if line.strip()) == (
            (entry.rows_loaded or 0) + (entry.rows_quarantined or 0))
    assert result.rows["log_data"] == 16 + 995


def test_a_truncated_log_stays_pending_and_lands_once_complete(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    day = dt.date(2018, 11, 3)
    whole = log_with_bad_lines(day, 30, [])
    (raw / log_key(day)).write_bytes(whole[:-25])
    landing = tmp_path / "landing"

    first = _land(str(raw), landing)
    assert first.count("log_data", "pending") == 1
    assert not (landing / "verified" / "log_data" / f"event_date={day}").exists()
    second = _land(str(raw), landing)
    assert [item.entry.attempts for item in second.processed["log_data"]] == [2]

    (raw / log_key(day)).write_bytes(whole)
    third = _land(str(raw), landing)
    assert third.count("log_data", "loaded") == 1
    assert len(_records(_log_file(landing / "verified", log_key(day), day))) == 30
    assert third.rows["log_data"] == 16 + 30


def test_worker_processes_land_exactly_what_inline_verification_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    day = dt.date(2018, 11, 3)
    (raw / log_key(day)).write_bytes(log_with_bad_lines(day, 1000, BAD_LINES))

    def landed(mode: str, threshold: int) -> tuple[object, ...]:
        monkeypatch.setattr(verifiers_module, "PARALLEL_MIN_OBJECTS", threshold)
        result = _land(str(raw), tmp_path / mode)
        files = {
            str(path.relative_to(tmp_path / mode)): [
                {k: v for k, v in record.items() if k != "_ingested_at"}
                for record in _records(path)]
            for path in sorted((tmp_path / mode / "verified").rglob("*.parquet"))}
        entries, quarantined = ledger_entries(tmp_path / mode)
        statuses = sorted((entry.key, entry.status, entry.rows_loaded, entry.rows_quarantined)
                          for entry in entries)
        lines = sorted((row[1], row[2], row[3], row[4]) for row in quarantined)
        return result.rows, files, statuses, lines

    inline = landed("inline", 10**9)
    parallel = landed("parallel", 1)
    assert inline[0] == {"song_data": 8, "log_data": 16 + 995}
    assert parallel == inline


def _landed_rows(verified: Path, table: str) -> list[dict[str, object]]:
    return [record for path in sorted((verified / table).rglob("*.parquet"))
            for record in _records(path)]


def _day_counts(verified: Path, key: str) -> dict[str, int]:
    """Rows of one log object per day folder, read back from the files."""
    return {path.parent.name: pq.read_metadata(path).num_rows
            for path in sorted((verified / "log_data").glob(f"*/{log_file_name(key)}"))}


def test_a_log_object_of_several_days_lands_one_file_per_day_and_changes_replace_them(
    tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    key = "log_data/extra/undated-events.json"  # no date in the name: any day goes
    five, six = dt.date(2018, 11, 5), dt.date(2018, 11, 6)
    (raw / key).parent.mkdir(parents=True)
    (raw / key).write_text("\n".join([good_event(five, 0), good_event(six, 0),
                                      good_event(six, 1)]))
    landing = tmp_path / "landing"
    verified = landing / "verified"

    assert _land(str(raw), landing).rows["log_data"] == 16 + 3
    assert _day_counts(verified, key) == {"event_date=2018-11-05": 1, "event_date=2018-11-06": 2}

    (raw / key).write_text(good_event(six, 7))  # changed: day 5 no longer holds rows of it
    assert _land(str(raw), landing).rows["log_data"] == 16 + 1
    assert _day_counts(verified, key) == {"event_date=2018-11-06": 1}
    assert not (verified / "log_data" / "event_date=2018-11-05").exists()
    assert [row["itemInSession"] for row in _landed_rows(verified, "log_data")
            if row["_source_key"] == key] == [7]

    (raw / key).write_text(good_event(six, 8)[:-9])  # cut off while being written: pending
    pending = _land(str(raw), landing)
    assert pending.count("log_data", "pending") == 1 and pending.rows["log_data"] == 16
    assert _day_counts(verified, key) == {}, "a pending object has no rows, not old ones"

    (raw / key).write_text(json.dumps({**json.loads(good_event(six, 9)), "ts": 2**62}))
    beyond = _land(str(raw), landing)  # a ts no timestamp holds: quarantined, never the
    assert beyond.rows["log_data"] == 16  # null partition (issue 25)
    assert beyond.count("log_data", "quarantined") == 1
    assert _day_counts(verified, key) == {}


def test_a_changed_song_replaces_its_rows_and_prune_drops_vanished_objects(
    tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    landing = tmp_path / "landing"
    verified = landing / "verified"
    _land(str(raw), landing)
    song = raw / "song_data" / "A" / "C" / "C" / "TRACCDC128F4230004.json"
    record = json.loads(song.read_bytes())
    song.write_text(json.dumps({**record, "title": "Retitled"}))

    assert _land(str(raw), landing).rows["song_data"] == 8
    titles = [row["title"] for row in _landed_rows(verified, "song_data")
              if row["_source_key"] == "song_data/A/C/C/TRACCDC128F4230004.json"]
    assert titles == ["Retitled"], "the old row is replaced, not kept next to the new one"

    song.unlink()
    day = "log_data/2018/11/2018-11-02-events.json"
    day_rows = sum(row["_source_key"] == day for row in _landed_rows(verified, "log_data"))
    assert day_rows > 0
    (raw / day).unlink()
    kept = _land(str(raw), landing)
    assert kept.rows == {"song_data": 8, "log_data": 16}, "vanished objects keep their rows"
    pruned = _land(str(raw), landing, prune=True)
    assert pruned.rows == {"song_data": 7, "log_data": 16 - day_rows}
    keys = {row["_source_key"] for table in ("song_data", "log_data")
            for row in _landed_rows(verified, table)}
    assert "song_data/A/C/C/TRACCDC128F4230004.json" not in keys and day not in keys
    assert not (verified / "log_data" / "event_date=2018-11-02").exists()
    assert len(_landed_rows(verified, "log_data")) == pruned.rows["log_data"]


def _json_landing_of_an_earlier_version(landing: Path) -> None:
    """What the JSON layout left: `.json` files, a `_landed_files` table, no layout row."""
    with closing(sqlite3.connect(landing / "ledger.sqlite")) as connection, connection:
        connection.execute('delete from "_landing_layout"')
        connection.execute('create table "_landed_files" (path text primary key, '
                           "size_bytes integer not null)")
    old = landing / "verified" / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    old.parent.mkdir(parents=True)
    old.write_text('{"ts": 1, "_source_key": "log_data/2018/11/2018-11-01-events.json"}\n')


def test_a_landing_of_the_json_layout_is_staged_again_as_parquet(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    landing = tmp_path / "landing"
    _land(str(raw), landing)
    _json_landing_of_an_earlier_version(landing)
    caplog.set_level("WARNING", logger="ingest")

    again = _land(str(raw), landing)

    assert "written by an earlier version as JSON lines" in caplog.text
    assert [len(plan.process) for plan in again.plans.values()] == [8, 2], "all staged again"
    assert again.rows == {"song_data": 8, "log_data": 16}
    files = sorted(path.suffix for path in (landing / "verified").rglob("*") if path.is_file())
    assert set(files) == {".parquet"}, files
    assert len(_landed_rows(landing / "verified", "log_data")) == 16
    assert not _land(str(raw), landing).changed


def test_a_json_landing_with_archived_objects_is_refused(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    landing = tmp_path / "landing"
    _land(str(raw), landing)
    _json_landing_of_an_earlier_version(landing)
    with closing(sqlite3.connect(landing / "ledger.sqlite")) as connection, connection:
        connection.execute("update _loaded_objects set archived_at = '2026-01-01 00:00:00' "
                           "where object_key like 'log_data/%'")

    with pytest.raises(IngestError, match="2 of its objects were archived"):
        _land(str(raw), landing)
    assert (landing / "verified" / "log_data" / "2018").is_dir(), "nothing was removed"


@pytest.mark.parametrize("log_folder", ["missing", "empty"])
def test_a_songs_only_source_stages_and_says_so(
    log_folder: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Events that all come by the stream or the collector: the source holds songs only."""
    raw = tmp_path / "raw"
    shutil.copytree(RAW / "song_data", raw / "song_data")
    if log_folder == "empty":
        (raw / "log_data" / "2018").mkdir(parents=True)
    caplog.set_level("INFO", logger="ingest.stage.core")

    report = _land(str(raw), tmp_path / "landing")

    assert report.rows == {"song_data": 8, "log_data": 0}
    assert report.count("song_data", "loaded") == 8 and report.rows_changed
    assert "8 song files, 0 log files" in caplog.text
    assert "holds songs only" in caplog.text
    assert _land(str(raw), tmp_path / "landing").rows == {"song_data": 8, "log_data": 0}


def test_a_source_without_songs_or_without_anything_still_fails(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW / "log_data", raw / "log_data")
    with pytest.raises(IngestError, match="has no JSON files under song_data/:"):
        _land(str(raw), tmp_path / "landing")
    shutil.rmtree(raw / "log_data")
    with pytest.raises(IngestError, match="no JSON files under song_data/ and log_data/"):
        _land(str(raw), tmp_path / "landing")
