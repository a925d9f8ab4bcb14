"""The streaming latency benchmark's own parts, without a stream: what counts as a play, when
one is seen in the fact table's files, the percentiles and the report.

The benchmark itself (`python -m bench.stream`, minutes of a continuous stream) is
run by hand; its figures are in BENCHMARKS.md.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.stream.latency import StreamBenchResult, Watcher, markdown, percentile, plays_of
from ingest.kinesis.records import Entry


def _event(page: str, user: str, session: int, item: int) -> Entry:
    body = {"page": page, "userId": user, "sessionId": session, "itemInSession": item}
    return Entry(json.dumps(body).encode(), f"{user}/{session}")


def test_only_next_song_events_of_a_user_are_plays() -> None:
    entries = [_event("NextSong", "7", 3, 0), _event("Home", "7", 3, 1),
               _event("NextSong", "", 4, 0), _event("NextSong", "12", 3, 2)]
    assert list(plays_of(entries)) == [("7", 3, 0), ("12", 3, 2)]


def _write_day(table: Path, day: str, plays: list[tuple[int, int, int]]) -> None:
    folder = table / f"start_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    users, sessions, items = (list(column) for column in zip(*plays, strict=True))
    pq.write_table(pa.table({"user_id": users, "session_id": sessions,
                             "item_in_session": items}), folder / "part-0.parquet")


def test_the_watcher_notes_new_plays_once_and_ignores_the_baseline(tmp_path: Path) -> None:
    table = tmp_path / "fct_songplays"
    _write_day(table, "2018-11-01", [(7, 3, 0)])
    watcher = Watcher(table)  # what is there at the start is not the run's
    watcher.look()
    assert watcher.seen == {}
    _write_day(table, "2018-11-02", [(12, 3, 2), (7, 4, 1)])
    watcher.look()
    first = dict(watcher.seen)
    assert set(first) == {("12", 3, 2), ("7", 4, 1)}
    watcher.look()
    assert watcher.seen == first  # first seen, not last seen


def test_a_table_built_after_the_start_is_watched(tmp_path: Path) -> None:
    table = tmp_path / "not-built-yet"
    watcher = Watcher(table)
    watcher.look()
    assert watcher.seen == {}
    _write_day(table, "2018-11-01", [(7, 3, 0)])
    watcher.look()
    assert set(watcher.seen) == {("7", 3, 0)}


def test_percentiles_and_report() -> None:
    values = [float(value) for value in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (51.0, 96.0)
    assert percentile([], 0.5) == 0.0
    result = StreamBenchResult(
        rate=500, seconds=300, every=10, shards=2, events_put=150_000, plays_put=120_000,
        plays_visible=120_000, put_events_per_s=499.6, visible_plays_per_s=390.2,
        latency_p50=31.2, latency_p95=55.9, latency_max=70.0, micro_batches=9,
        peak_rss_gib=3.1, load_average_start=0.2, load_average_end=2.1, commit="abc1234",
        when="2026-12-04T14:00:00+00:00")
    text = markdown(result)
    assert "| 150,000 | 500/s | 120,000 | 120,000 | 390/s | 31.2 s | 55.9 s | 70.0 s | 9 |" \
        in text
    assert json.loads(json.dumps(dataclasses.asdict(result)))["latency_p95"] == 55.9


def test_the_watcher_runs_in_the_background_until_stopped(tmp_path: Path) -> None:
    table = tmp_path / "fct_songplays"
    watcher = Watcher(table, poll=0.05)
    watcher.start()
    _write_day(table, "2018-11-01", [(7, 3, 0)])
    for _ in range(100):
        if watcher.seen:
            break
        time.sleep(0.05)
    watcher.stop()
    assert set(watcher.seen) == {("7", 3, 0)}
    assert not watcher.is_alive()
