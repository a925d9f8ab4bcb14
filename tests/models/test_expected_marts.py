"""The pure-Python contract implementation on the hand-written data set, case by case."""

from __future__ import annotations

import datetime as dt

from tests.support.expected_marts import (
    build_expected_marts,
    canonical,
    songplay_id,
    state_code,
    time_parts,
)
from tests.support.project import FIXTURES, PROJECT_DIR

MARTS = build_expected_marts(FIXTURES / "raw_handwritten", PROJECT_DIR / "seeds" / "us_states.csv")


def _play(user: int, session: int, item: int) -> dict[str, object]:
    play = next(row for row in MARTS["fct_songplays"]
                if (row["user_id"], row["session_id"], row["item_in_session"])
                == (user, session, item))
    ms = int((play["start_time"] - dt.datetime(1970, 1, 1)).total_seconds() * 1000)
    assert play["songplay_id"] == songplay_id(
        {"user_id": user, "session_id": session, "item_in_session": item, "ts": ms})
    return play


def test_row_counts() -> None:
    counts = {name: len(rows) for name, rows in MARTS.items()}
    assert counts == {"fct_songplays": 9, "dim_users": 3, "dim_songs": 8, "dim_artists": 5,
                      "dim_time": 9}


def test_matching_rules() -> None:
    assert _play(10, 100, 2)["song_id"] == "SOAAAAA12AB0000001"  # trim + case
    assert _play(10, 100, 3)["song_id"] == "SOBBBBB12AB0000003"  # 0.8 s off
    assert _play(10, 100, 4)["song_id"] == "SOCCCCC12AB0000005"  # closest duration
    assert _play(10, 100, 5)["song_id"] == "SODDDDD12AB0000006"  # tie → smaller id
    assert _play(10, 100, 6)["song_id"] is None  # 1.3 s off
    assert _play(10, 100, 7)["song_id"] is None  # unknown, kept once
    assert _play(26, 201, 0)["artist_id"] == "ARAAAAA1187B990001"


def test_users_take_their_latest_level() -> None:
    users = {row["user_id"]: row for row in MARTS["dim_users"]}
    assert users[10]["level"] == "paid"
    assert users[10]["state_code"] == "DC"
    assert users[10]["state_name"] == "District of Columbia"
    assert users[30]["census_region"] == "Northeast"
    assert _play(10, 100, 2)["level"] == "free"


def test_artists_take_first_known_values() -> None:
    artists = {row["artist_id"]: row for row in MARTS["dim_artists"]}
    beyonce = artists["ARAAAAA1187B990001"]
    assert (beyonce["location"], beyonce["latitude"]) == ("Houston, TX", 29.76078)
    massive = artists["ARDDDDD1187B990004"]
    assert (massive["location"], massive["latitude"]) == ("Bristol, England", 51.45)


def test_events_are_cleaned() -> None:
    play = _play(10, 100, 2)
    assert str(play["user_agent"]).startswith("Mozilla/5.0 (Macintosh")
    assert play["start_time"] == dt.datetime(2018, 11, 1, 12, 0, 2)
    songs = {row["song_id"]: row for row in MARTS["dim_songs"]}
    assert songs["SOAAAAA12AB0000002"]["year"] is None


def test_time_parts_follow_iso() -> None:
    assert time_parts(dt.datetime(2018, 11, 1, 21, 1, 46))["weekday"] == 4
    assert time_parts(dt.datetime(2018, 11, 1))["week"] == 44
    assert (time_parts(dt.datetime(2021, 1, 1))["week"],
            time_parts(dt.datetime(2021, 1, 1))["weekday"]) == (53, 5)
    assert (time_parts(dt.datetime(2024, 12, 29))["week"],
            time_parts(dt.datetime(2024, 12, 29))["weekday"]) == (52, 7)


def test_state_code_and_canonical_form() -> None:
    assert state_code("Washington-Arlington-Alexandria, DC-VA-MD-WV") == "DC"
    assert state_code("Reykjavík") is None
    row = {"b": 1.123456789, "a": dt.datetime(2018, 11, 1, 0, 0, 0, 796000), "c": None}
    assert canonical([row]) == [(("a", "2018-11-01T00:00:00.796"), ("b", 1.12346), ("c", None))]
