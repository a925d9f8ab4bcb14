"""The generator writes the raw Sparkify format, quirks included, and nothing random."""

from __future__ import annotations

import datetime
import itertools
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from ingest.sample.generate import GenerateConfig, GenerateStats, generate

SONG_KEYS = [
    "num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location",
    "artist_name", "song_id", "title", "duration", "year",
]
LOG_KEYS = [
    "artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level",
    "location", "method", "page", "registration", "sessionId", "song", "status", "ts",
    "userAgent", "userId",
]
PAGE_METHOD = {
    "NextSong": ("PUT", 200), "Home": ("GET", 200), "About": ("GET", 200),
    "Help": ("GET", 200), "Settings": ("GET", 200), "Downgrade": ("GET", 200),
    "Upgrade": ("GET", 200), "Login": ("PUT", 307), "Logout": ("PUT", 307),
    "Submit Upgrade": ("PUT", 307), "Submit Downgrade": ("PUT", 307),
    "Save Settings": ("PUT", 307), "Error": ("GET", 404),
}
USER_FIELDS = ("firstName", "lastName", "gender", "location", "registration", "userAgent")
CONFIG = GenerateConfig(songs=400, days=5, events_per_day=4000, seed=7)

Event = dict[str, Any]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateStats, list[str]]:
    """About 20,000 events written once for the module, with the progress messages."""
    out = tmp_path_factory.mktemp("raw")
    messages: list[str] = []
    stats = generate(out, CONFIG, progress=messages.append)
    return out, stats, messages


@pytest.fixture(scope="module")
def songs(generated: tuple[Path, GenerateStats, list[str]]) -> list[dict[str, Any]]:
    out = generated[0]
    return [json.loads(p.read_text("utf-8")) for p in sorted(out.glob("song_data/*/*/*/*.json"))]


@pytest.fixture(scope="module")
def log_files(generated: tuple[Path, GenerateStats, list[str]]) -> dict[Path, str]:
    out = generated[0]
    return {p: p.read_bytes().decode("utf-8") for p in sorted(out.glob("log_data/*/*/*.json"))}


@pytest.fixture(scope="module")
def events(log_files: dict[Path, str]) -> list[Event]:
    return [json.loads(line) for text in log_files.values() for line in text.split("\n") if line]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _key(text: str) -> str:
    return text.strip().lower()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    config = GenerateConfig(songs=60, days=3, events_per_day=300, seed=3)
    generate(tmp_path / "a", config)
    generate(tmp_path / "b", config)
    generate(tmp_path / "c", GenerateConfig(songs=60, days=3, events_per_day=300, seed=4))
    first = _tree(tmp_path / "a")
    assert first == _tree(tmp_path / "b")
    assert len(first) == 63
    other = _tree(tmp_path / "c")
    log_name = "log_data/2018/11/2018-11-01-events.json"
    assert other[log_name] != first[log_name]
    assert set(other) != set(first)


def test_stats_equal_what_is_on_disk(generated: tuple[Path, GenerateStats, list[str]],
                                     events: list[Event]) -> None:
    out, stats, messages = generated
    files = [p for p in out.rglob("*") if p.is_file()]
    assert stats.song_files == CONFIG.songs == len(list(out.glob("song_data/*/*/*/*.json")))
    assert stats.log_files == CONFIG.days == len(list(out.glob("log_data/*/*/*.json")))
    assert stats.events == len(events)
    assert stats.next_song_events == sum(1 for e in events if e["page"] == "NextSong")
    assert stats.bytes_written == sum(p.stat().st_size for p in files)
    assert len(messages) >= CONFIG.days


def test_song_files_have_the_upstream_format(generated: tuple[Path, GenerateStats, list[str]],
                                             songs: list[dict[str, Any]]) -> None:
    for path in generated[0].glob("song_data/*/*/*/*.json"):
        text = path.read_text("utf-8")
        song = json.loads(text)
        assert "\n" not in text
        assert list(song) == SONG_KEYS
        assert json.dumps(song) == text
        track = path.stem
        assert re.fullmatch(r"TR[A-Z0-9]{16}", track)
        assert path.parent.relative_to(generated[0]).parts == ("song_data", *track[2:5])
        assert song["num_songs"] == 1
        assert re.fullmatch(r"SO[A-Z0-9]{16}", song["song_id"])
        assert re.fullmatch(r"AR[A-Z0-9]{16}", song["artist_id"])
        assert 30 <= song["duration"] <= 600 and round(song["duration"], 5) == song["duration"]
    assert len({s["song_id"] for s in songs}) == len(songs)
    assert 0.45 < sum(1 for s in songs if s["year"] == 0) / len(songs) < 0.75
    assert sum(1 for s in songs if s["artist_latitude"] is None) > len(songs) / 2
    assert sum(1 for s in songs if s["artist_location"] == "") > len(songs) / 4


def test_song_names_hold_punctuation_and_other_scripts(songs: list[dict[str, Any]]) -> None:
    text = " ".join(s["artist_name"] + " " + s["title"] for s in songs)
    for needle in ("'", '"', "(", "/", "&", "feat.", "é"):
        assert needle in text, needle
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text)
    assert len({s["title"] for s in songs}) > 0.9 * len(songs)


def test_artists_have_several_songs_and_disagreeing_attributes(
        songs: list[dict[str, Any]]) -> None:
    by_artist: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for song in songs:
        by_artist[song["artist_id"]].append(song)
    assert 1.3 <= len(songs) / len(by_artist) <= 3
    assert all(len({s["artist_name"] for s in group}) == 1 for group in by_artist.values())
    locations = [{s["artist_location"] for s in g} for g in by_artist.values()]
    assert any("" in found and len(found) > 1 for found in locations)
    assert any(len(found - {""}) > 1 for found in locations)
    latitudes = [{s["artist_latitude"] is None for s in g} for g in by_artist.values()]
    assert any(found == {True, False} for found in latitudes)


def test_some_songs_tie_on_title_artist_and_duration(songs: list[dict[str, Any]]) -> None:
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for song in songs:
        groups[(song["artist_id"], _key(song["title"]))].append(song["duration"])
    ties = [d for d in groups.values() if len(d) > 1 and max(d) - min(d) <= 0.5]
    assert len(ties) >= 3


def test_log_files_have_the_upstream_format(log_files: dict[Path, str]) -> None:
    for path, text in log_files.items():
        date = datetime.date.fromisoformat(path.name.removesuffix("-events.json"))
        assert path.parent.parts[-2:] == (f"{date:%Y}", f"{date:%m}")
        lines = text.split("\n")
        assert lines[0] and lines[-1], "no blank first line, no trailing newline"
        assert "" in lines, "blank lines are part of the format"
        assert "\\/" in text
        low = (datetime.datetime(date.year, date.month, date.day, tzinfo=datetime.UTC)
               .timestamp() * 1000)
        for line in filter(None, lines):
            event = json.loads(line)
            assert list(event) == LOG_KEYS
            canonical = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
            assert canonical.replace("/", "\\/") == line
            assert low <= event["ts"] < low + 86_400_000
        assert re.search(r'"registration":\d{13}\.0,', text)
        assert "\\u00" not in text and re.search(r"[^\x00-\x7f]", text)


def test_events_are_consistent(events: list[Event]) -> None:
    for event in events:
        assert (event["method"], event["status"]) == PAGE_METHOD[event["page"]]
        assert event["level"] in ("free", "paid")
        logged_out = event["auth"] == "Logged Out"
        assert event["auth"] in ("Logged In", "Logged Out")
        assert (event["userId"] == "") == logged_out
        if logged_out:
            assert all(event[field] is None for field in USER_FIELDS)
            assert event["page"] in ("Home", "Login", "About", "Help")
        else:
            assert event["userId"].isdigit() and event["gender"] in ("F", "M")
            assert re.fullmatch(r'"Mozilla/5\.0 .*"', event["userAgent"])
            assert re.fullmatch(r".+, [A-Z]{2}(-[A-Z]{2})*", event["location"])
        song_fields = [event["artist"], event["song"], event["length"]]
        if event["page"] == "NextSong":
            assert isinstance(event["length"], float) and all(song_fields)
        else:
            assert song_fields == [None, None, None]


def test_sessions_count_items_and_time_in_order(events: list[Event]) -> None:
    sessions: dict[int, list[Event]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for event in events:
        key = (event["sessionId"], event["itemInSession"])
        if key not in seen:
            seen.add(key)
            sessions[event["sessionId"]].append(event)
    for group in sessions.values():
        group.sort(key=lambda e: e["itemInSession"])
        assert [e["itemInSession"] for e in group] == list(range(len(group)))
        assert all(a["ts"] < b["ts"] for a, b in itertools.pairwise(group))
        assert len({e["userId"] for e in group} - {""}) <= 1
        days = {e["ts"] // 86_400_000 for e in group}
        assert len(days) == 1


def test_duplicates_repeat_a_line_right_after_it(log_files: dict[Path, str]) -> None:
    repeats = 0
    for text in log_files.values():
        lines = text.split("\n")
        repeats += sum(1 for a, b in itertools.pairwise(lines) if a and a == b)
        counts = Counter(line for line in lines if line)
        assert all(n <= 2 for n in counts.values())
    assert repeats >= 5


def test_volume_and_page_mix_look_like_the_public_set(log_files: dict[Path, str],
                                                      events: list[Event]) -> None:
    for text in log_files.values():
        day = sum(1 for line in text.split("\n") if line)
        assert 0.8 * CONFIG.events_per_day <= day <= 1.2 * CONFIG.events_per_day
    pages = Counter(e["page"] for e in events)
    assert set(pages) == set(PAGE_METHOD)
    assert 0.80 <= pages["NextSong"] / len(events) <= 0.90
    assert 0.06 <= pages["Home"] / len(events) <= 0.14
    logged_out = sum(1 for e in events if e["auth"] == "Logged Out")
    assert 0.02 <= logged_out / len(events) <= 0.05
    assert 40 <= len({e["userId"] for e in events}) <= CONFIG.user_count + 1


def test_users_change_level_through_submit_events(events: list[Event]) -> None:
    timelines: dict[str, list[Event]] = defaultdict(list)
    for event in sorted(events, key=lambda e: (e["ts"], e["sessionId"], e["itemInSession"])):
        if event["userId"]:
            timelines[event["userId"]].append(event)
    changed = [t for t in timelines.values() if len({e["level"] for e in t}) > 1]
    assert changed
    for timeline in changed:
        submits = [i for i, e in enumerate(timeline) if e["page"].startswith("Submit ")]
        assert len(submits) >= 1
        first = submits[0]
        before = {e["level"] for e in timeline[: first + 1]}
        after = timeline[first + 1]["level"]
        assert len(before) == 1 and after not in before
    users = {e["userId"]: (e["firstName"], e["location"]) for e in events if e["userId"]}
    for event in events:
        if event["userId"]:
            assert users[event["userId"]] == (event["firstName"], event["location"])


def test_plays_match_songs_loosely_but_not_beyond_one_second(
        songs: list[dict[str, Any]], events: list[Event]) -> None:
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    for song in songs:
        durations[(_key(song["title"]), _key(song["artist_name"]))].append(song["duration"])
    exact_titles = {song["title"] for song in songs}
    matched = far = sloppy = 0
    for event in events:
        if event["page"] != "NextSong":
            continue
        candidates = durations.get((_key(event["song"]), _key(event["artist"])), [])
        if not candidates:
            continue
        if any(abs(d - event["length"]) <= 1.0 for d in candidates):
            matched += 1
            sloppy += event["song"] not in exact_titles
        else:
            far += 1
    plays = sum(1 for e in events if e["page"] == "NextSong")
    assert 0.3 * plays <= matched <= 0.45 * plays
    assert far >= 10
    assert sloppy >= 10


def test_bad_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="known_song_share"):
        generate(tmp_path, GenerateConfig(known_song_share=1.5))
    with pytest.raises(ValueError, match="songs"):
        generate(tmp_path, GenerateConfig(songs=-1))
