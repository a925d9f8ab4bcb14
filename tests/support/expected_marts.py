"""An independent pure-Python reading of the star-schema contract (README, issue semantics).

It reads the raw files directly with `json`, never through Spark or dbt, so that the
end-to-end tests compare the models against a second implementation of the same rules.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

Row = dict[str, Any]
EPOCH = dt.datetime(1970, 1, 1)
MATCH_WINDOW_SECONDS = 1.0


def _trim(value: str | None) -> str | None:
    """SQL trim(): spaces only. Empty → None, as the staging models clean."""
    if value is None:
        return None
    trimmed = value.strip(" ")
    return trimmed or None


def _key(value: str | None) -> str | None:
    return None if value is None else value.strip(" ").lower()


def read_songs(raw_dir: Path) -> list[Row]:
    songs = []
    for path in sorted((raw_dir / "song_data").rglob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        songs.append({
            "song_id": record["song_id"],
            "title": _trim(record["title"]),
            "artist_id": record["artist_id"],
            "artist_name": _trim(record["artist_name"]),
            "artist_location": _trim(record["artist_location"]),
            "artist_latitude": record["artist_latitude"],
            "artist_longitude": record["artist_longitude"],
            "duration": float(record["duration"]),
            "year": record["year"] or None,
        })
    return songs


def read_events(raw_dir: Path) -> Iterator[Row]:
    for path in sorted((raw_dir / "log_data").rglob("*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            agent = record["userAgent"]
            if agent is not None and len(agent) >= 2 and agent[0] == agent[-1] == '"':
                agent = agent[1:-1]
            yield {
                "user_id": int(record["userId"]) if record["userId"] else None,
                "session_id": record["sessionId"],
                "item_in_session": record["itemInSession"],
                "ts": record["ts"],
                "start_time": EPOCH + dt.timedelta(milliseconds=record["ts"]),
                "page": record["page"],
                "level": record["level"],
                "first_name": record["firstName"],
                "last_name": record["lastName"],
                "gender": record["gender"],
                "location": _trim(record["location"]),
                "user_agent": agent,
                "song": record["song"],
                "artist": record["artist"],
                "length": record["length"],
            }


def state_code(location: str | None) -> str | None:
    if location is None or ", " not in location:
        return None
    return location.rsplit(", ", 1)[1].split("-", 1)[0]


def event_date(event: Row) -> dt.date:
    """The UTC day of the event's `ts` (epoch milliseconds)."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=event["ts"] // 86_400_000)


def identity(event: Row) -> tuple[Any, ...]:
    """What identifies an event: the raw format's key (user, session, item) on the UTC day
    of its ts. A redelivery keeps its ts, so its day; the same key on another day is
    another event."""
    return (event["user_id"], event["session_id"], event["item_in_session"],
            event_date(event))


def songplay_id(event: Row) -> str:
    user, session, item, day = identity(event)
    natural = f"{user}|{session}|{item}|{day.isoformat()}"
    return hashlib.md5(natural.encode(), usedforsecurity=False).hexdigest()


def deduplicated(events: Iterable[Row]) -> list[Row]:
    """One event per identity: the delivery with the smallest ts."""
    first: dict[tuple[Any, ...], Row] = {}
    for event in events:
        natural = identity(event)
        if natural not in first or event["ts"] < first[natural]["ts"]:
            first[natural] = event
    return list(first.values())


def _best_song(play: Row, candidates: list[Row]) -> Row | None:
    matches = [song for song in candidates
               if abs(song["duration"] - play["length"]) <= MATCH_WINDOW_SECONDS]
    if not matches:
        return None
    return min(matches, key=lambda song: (abs(song["duration"] - play["length"]),
                                          song["song_id"]))


def fct_songplays(events: list[Row], songs: list[Row]) -> list[Row]:
    by_name: dict[tuple[str | None, str | None], list[Row]] = defaultdict(list)
    for song in songs:
        by_name[(_key(song["title"]), _key(song["artist_name"]))].append(song)
    rows = []
    for play in events:
        if play["page"] != "NextSong" or play["user_id"] is None:
            continue
        song = _best_song(play, by_name.get((_key(play["song"]), _key(play["artist"])), []))
        rows.append({
            "songplay_id": songplay_id(play),
            "start_time": play["start_time"],
            "user_id": play["user_id"],
            "level": play["level"],
            "song_id": song["song_id"] if song else None,
            "artist_id": song["artist_id"] if song else None,
            "session_id": play["session_id"],
            "item_in_session": play["item_in_session"],
            "location": play["location"],
            "user_agent": play["user_agent"],
            "start_date": play["start_time"].date(),
        })
    return sorted(rows, key=lambda row: row["songplay_id"])


def dim_users(events: list[Row], states: dict[str, dict[str, str]]) -> list[Row]:
    latest: dict[int, Row] = {}
    for event in events:
        user = event["user_id"]
        if user is None:
            continue
        order = (event["ts"], event["item_in_session"], event["session_id"])
        current = latest.get(user)
        if current is None or order > (current["ts"], current["item_in_session"],
                                       current["session_id"]):
            latest[user] = event
    rows = []
    for user, event in sorted(latest.items()):
        code = state_code(event["location"])
        state = states.get(code or "", {})
        rows.append({
            "user_id": user,
            "first_name": event["first_name"],
            "last_name": event["last_name"],
            "gender": event["gender"],
            "level": event["level"],
            "location": event["location"],
            "state_code": code,
            "state_name": state.get("state_name"),
            "census_region": state.get("census_region"),
        })
    return rows


def dim_songs(songs: list[Row]) -> list[Row]:
    kept: dict[str, Row] = {}
    for song in songs:
        order = (song["artist_id"], song["title"] or "", song["duration"])
        current = kept.get(song["song_id"])
        if current is None or order < (current["artist_id"], current["title"] or "",
                                       current["duration"]):
            kept[song["song_id"]] = song
    return [
        {"song_id": song_id, "title": song["title"], "artist_id": song["artist_id"],
         "year": song["year"], "duration": song["duration"]}
        for song_id, song in sorted(kept.items())
    ]


def dim_artists(songs: list[Row]) -> list[Row]:
    by_artist: dict[str, list[Row]] = defaultdict(list)
    for song in songs:
        by_artist[song["artist_id"]].append(song)

    def first_known(records: list[Row], field: str) -> Any:
        return next((song[field] for song in sorted(records, key=lambda s: s["song_id"])
                     if song[field] is not None), None)

    return [
        {
            "artist_id": artist_id,
            "name": first_known(records, "artist_name"),
            "location": first_known(records, "artist_location"),
            "latitude": first_known(records, "artist_latitude"),
            "longitude": first_known(records, "artist_longitude"),
        }
        for artist_id, records in sorted(by_artist.items())
    ]


def time_parts(start_time: dt.datetime) -> Row:
    iso = start_time.isocalendar()
    return {"start_time": start_time, "hour": start_time.hour, "day": start_time.day,
            "week": iso.week, "month": start_time.month, "year": start_time.year,
            "weekday": iso.weekday, "start_date": start_time.date()}


def dim_time(songplays: list[Row]) -> list[Row]:
    return [time_parts(start) for start in sorted({row["start_time"] for row in songplays})]


def read_states(us_states_csv: Path) -> dict[str, dict[str, str]]:
    with us_states_csv.open(encoding="utf-8", newline="") as handle:
        return {row["state_code"]: row for row in csv.DictReader(handle)}


def build_expected_marts(raw_dir: Path, us_states_csv: Path) -> dict[str, list[Row]]:
    songs = read_songs(raw_dir)
    events = deduplicated(read_events(raw_dir))
    plays = fct_songplays(events, songs)
    return {
        "fct_songplays": plays,
        "dim_users": dim_users(events, read_states(us_states_csv)),
        "dim_songs": dim_songs(songs),
        "dim_artists": dim_artists(songs),
        "dim_time": dim_time(plays),
    }


def _canonical_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        return round(float(value), 5)
    return value


# When a row was staged differs from run to run and engine to engine: not part of the answer.
PROVENANCE = frozenset({"ingested_at"})


def canonical(rows: Iterable[Row]) -> list[tuple[Any, ...]]:
    """Rows as sorted tuples of (column, value): ms-precision UTC ISO times, 5-decimal floats."""
    tuples = [tuple((column, _canonical_value(row[column])) for column in sorted(row)
                    if column not in PROVENANCE)
              for row in rows]
    return sorted(tuples, key=lambda pairs: [(value is None, str(value)) for _, value in pairs])
