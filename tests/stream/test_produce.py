"""`produce`: a source's log lines onto a stream, exactly, in event order, at a pace."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from pathlib import Path

import pytest

from ingest.cli import main
from ingest.errors import IngestError
from ingest.kinesis.client import KinesisEndpoint, kinesis_client
from ingest.kinesis.records import UNPARSED_KEY
from ingest.kinesis.shards import list_shards
from ingest.sample.generate import GenerateConfig, generate
from ingest.stream.produce import Pace, object_events
from tests.stream.support import MALFORMED, source_lines, stream_records, write_handwritten


def test_generated_and_handwritten_lines_land_exactly(aws: str, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    generate(tmp_path / "src", GenerateConfig(songs=5, days=3, events_per_day=120, seed=3,
                                                start_date=dt.date(2018, 11, 10)))
    write_handwritten(tmp_path / "src")
    expected = source_lines(tmp_path / "src")

    with caplog.at_level("INFO"):
        assert main(["produce", "--stream", "events", "--source", str(tmp_path / "src"),
                     "--shards", "3"]) == 0

    client = kinesis_client(KinesisEndpoint.resolve(None, None))
    assert len(list_shards(client, "events")) == 3
    records = stream_records(client, "events")
    assert Counter(record.data for record in records) == Counter(expected)
    assert {record.partition_key for record in records if record.data in MALFORMED} == {
        UNPARSED_KEY, "/5"}
    summary = [r.message for r in caplog.records if r.message.startswith("produced ")]
    assert summary and summary[0].startswith(f"produced {len(expected)} events (3 without ")


def test_events_of_a_session_arrive_in_ts_order(aws: str, tmp_path: Path) -> None:
    generate(tmp_path / "src", GenerateConfig(songs=3, days=2, events_per_day=150, seed=5))
    assert main(["produce", "--stream", "ordered", "--source", str(tmp_path / "src")]) == 0

    by_key: dict[str, list[int]] = {}
    for record in stream_records(kinesis_client(KinesisEndpoint.resolve(None, None)), "ordered"):
        event = json.loads(record.data)
        by_key.setdefault(record.partition_key, []).append(event["ts"])
    assert by_key and all(times == sorted(times) for times in by_key.values())


def test_a_fixed_rate_paces_the_events(aws: str, tmp_path: Path) -> None:
    write_handwritten(tmp_path / "src", events_per_day=10)
    started = time.monotonic()
    assert main(["produce", "--stream", "slow", "--source", str(tmp_path / "src"),
                 "--rate", "40"]) == 0
    sent = len(source_lines(tmp_path / "src"))
    assert time.monotonic() - started >= (sent - 1) / 40


def test_lines_are_sorted_by_ts_and_undated_lines_keep_their_place() -> None:
    body = b'{"sessionId":1,"ts":30}\n\n{"sessionId":1,"ts":10}\nbroken\n{"sessionId":2,"ts":20}'
    assert [event.entry.data for event in object_events(body)] == [
        b'{"sessionId":1,"ts":10}', b"broken", b'{"sessionId":2,"ts":20}',
        b'{"sessionId":1,"ts":30}']


def test_pace_options() -> None:
    assert Pace.parse("max", None) == Pace()
    assert Pace.parse("250", None) == Pace(rate=250.0)
    assert Pace.parse("max", 60.0) == Pace(speedup=60.0)
    for rate in ("fast", "0", "-3"):
        with pytest.raises(IngestError, match="--rate"):
            Pace.parse(rate, None)


def test_a_source_without_log_objects_is_one_line(aws: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["produce", "--stream", "events", "--source", str(tmp_path / "empty")]) == 2
    assert "has no JSON files under log_data/" in capsys.readouterr().err
