"""Raw rows that engines tend to disagree on, added to a generated data set.

Ties in matching, a level change within one millisecond, year 0 and empty locations, and
timestamps on ISO week/year boundaries (2021-01-01 is in ISO week 53 of 2020; 2024-12-30
is in ISO week 1 of 2025; 2024-12-29 is a Sunday).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

UTC = dt.UTC
AGENT = '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"'
SONGS: list[dict[str, Any]] = [
    # Two songs equally close to every play of "Tie Break": the smaller song_id wins.
    {"track": "TRZZTIE128F000001", "song_id": "SOZZTIE12A0000002", "duration": 200.0,
     "title": "Tie Break", "year": 0, "artist_location": "", "artist_latitude": None},
    {"track": "TRZZTIE128F000002", "song_id": "SOZZTIE12A0000001", "duration": 200.0,
     "title": "Tie Break", "year": 2001, "artist_location": "Austin, TX",
     "artist_latitude": 30.26715},
    # 100.5 s played: 0.4 s from the second, 0.5 s from the first.
    {"track": "TRZZNEA128F000003", "song_id": "SOZZNEA12A0000003", "duration": 100.0,
     "title": "Near Miss", "year": 0, "artist_location": "", "artist_latitude": None},
    {"track": "TRZZNEA128F000004", "song_id": "SOZZNEA12A0000004", "duration": 100.9,
     "title": "near miss ", "year": 1999, "artist_location": "", "artist_latitude": None},
]
ARTIST = {"artist_id": "ARZZTWINS11870001", "artist_name": "Zed Twins",
          "artist_longitude": None}


def _ms(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def _event(user: int, session: int, item: int, moment: dt.datetime, level: str,
           page: str = "NextSong", song: str | None = None, length: float | None = None
           ) -> dict[str, Any]:
    play = page == "NextSong"
    return {
        "artist": ARTIST["artist_name"].upper() if play else None, "auth": "Logged In",
        "firstName": "Åsa", "gender": "F", "itemInSession": item, "lastName": "O'Neil",
        "length": length if play else None, "level": level,
        "location": "New York-Newark-Jersey City, NY-NJ-PA",
        "method": "PUT", "page": page, "registration": 1540000000000.0,
        "sessionId": session, "song": song if play else None,
        "status": 200 if play else 307, "ts": _ms(moment), "userAgent": AGENT,
        "userId": str(user),
    }


EVENTS: list[dict[str, Any]] = [
    _event(9001, 990001, 0, dt.datetime(2021, 1, 1, 0, 0, 0, 1000), "free", song="Tie Break",
           length=200.3),
    _event(9001, 990001, 1, dt.datetime(2021, 1, 3, 23, 59, 59, 999000), "free",
           song="Near Miss", length=100.5),
    _event(9002, 990002, 0, dt.datetime(2024, 12, 29, 23, 59, 59, 999000), "free",
           song="tie break", length=199.75),
    # The same millisecond: a level change; the greater item_in_session is the latest.
    _event(9002, 990003, 5, dt.datetime(2024, 12, 30, 0, 0, 0), "paid", page="Home"),
    _event(9002, 990003, 4, dt.datetime(2024, 12, 30, 0, 0, 0), "free",
           page="Submit Upgrade"),
    _event(9002, 990003, 3, dt.datetime(2024, 12, 30, 0, 0, 0), "free", song="Near Miss",
           length=101.95),
]


def add_awkward_rows(raw_dir: Path) -> None:
    """Write the awkward song files and daily log files into a raw folder."""
    for song in SONGS:
        track = song["track"]
        record = {
            "num_songs": 1, "artist_id": ARTIST["artist_id"],
            "artist_latitude": song["artist_latitude"],
            "artist_longitude": ARTIST["artist_longitude"],
            "artist_location": song["artist_location"], "artist_name": ARTIST["artist_name"],
            "song_id": song["song_id"], "title": song["title"], "duration": song["duration"],
            "year": song["year"],
        }
        path = raw_dir / "song_data" / track[2] / track[3] / track[4] / f"{track}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record), encoding="utf-8")
    by_day: dict[dt.date, list[str]] = {}
    for event in EVENTS:
        day = dt.datetime.fromtimestamp(event["ts"] / 1000, UTC).date()
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")
        by_day.setdefault(day, []).append(line)
    for day, lines in by_day.items():
        path = raw_dir / "log_data" / f"{day:%Y}" / f"{day:%m}" / f"{day:%Y-%m-%d}-awkward.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(lines), encoding="utf-8")
