"""Generated events the line check accepts, boundaries included, never fail a build: on the
embedded Spark and on PostgreSQL, one batch stage of them (with values just beyond a limit
mixed in) and one `dbt build` with every data test, then each event is accounted for: an
accepted one is a deduplicated event row (and a play when it is a NextSong of a user), a
refused one a quarantined line with the check's reason.

The events come from tests/support/contract_events.py with a fixed seed (hypothesis,
derandomized, a bounded count): ids from 0 to the int maximum, `ts` and `registration` at the
ends of the timestamp range, empty and JSON-number user ids, any Unicode text and values at
the 65,535-byte text limit, nulls and missing fields, copies of an event's key on another
UTC day (other events: the same key on two days is two rows and two plays), exact and
same-day redeliveries (removed). A few
plays name a song of the source (durations 0 and the largest) so the song match runs on
them. The fast half (no engine) is tests/raw/test_limits.py. One fixed case (issue 25)
builds a generated day, then the next day's object with a play of it resent a day later:
the incremental build passes and the key is two plays.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ingest.paths import StatePaths
from ingest.raw import limits
from ingest.raw.lines import LineProblem
from ingest.raw.verify import check_line
from ingest.run.dbt import run_dbt
from ingest.sample.config import GenerateConfig
from ingest.sample.generate import generate
from ingest.stage.landing.ledger import ledger_entries
from tests.support.contract_events import event_identity, event_key, generated_events
from tests.support.expected_marts import build_expected_marts
from tests.support.project import PROJECT_DIR, postgres_rows
from tests.support.staging import landing_of, stage_postgres, stage_spark

pytestmark = pytest.mark.dbt
ACCEPTED, REFUSED = 150, 16  # hypothesis examples: the accepted ones, and beyond a limit
LOG_KEY = "log_data/generated/events.json"  # no date in its name, as a stream's object
SONGS = [  # (song_id, artist_id, title, artist, duration)
    ("SOGEN0000000000001", "ARGEN0000000000001", "Plain Song", "Plain Artist", 200.0),
    ("SOGEN0000000000002", "ARGEN0000000000002", "Silence", "Nobody", 0.0),
    ("SOGEN0000000000003", "ARGEN0000000000002", "Forever", "Nobody",
     float(limits.MAX_SECONDS)),
]
Rows = Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True)
class Expected:
    """What the marts and the quarantine must hold for the generated source."""

    raw_rows: int
    events: set[tuple[int | None, int, int, dt.date]]
    plays: set[tuple[int, int, int, dt.date]]
    matched: dict[tuple[int, int, int, dt.date], str]
    users: set[int]
    quarantined: list[tuple[int, str]]  # (line number, reason)


def _with_songs(records: list[dict[str, Any]]) -> dict[tuple[int, int, int, dt.date], str]:
    """Make every fifth play of a user name a song (its length within the match window);
    the songs they must match."""
    matched = {}
    plays = [record for record in records
             if record["page"] == "NextSong" and str(record["userId"])]
    for number, record in enumerate(plays[::5]):
        song_id, _artist_id, title, artist, duration = SONGS[number % len(SONGS)]
        length = min(duration + 0.25, float(limits.MAX_SECONDS))
        record.update(song=title, artist=artist, length=length)
        (user, session, item), day = event_identity(record)
        matched[(int(user or 0), session, item, day)] = song_id
    return matched


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    """The raw source (the songs, one log object of the generated lines) and its answer."""
    matched: dict[tuple[int, int, int, dt.date], str] = {}
    events = generated_events(ACCEPTED, refused=REFUSED,
                              prepare=lambda records: matched.update(_with_songs(records)))
    lines = events.lines()
    raw = tmp_path_factory.mktemp("generated") / "raw"
    for song_id, artist_id, title, artist, duration in SONGS:
        path = raw / "song_data" / "G" / "E" / "N" / f"{song_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "num_songs": 1, "artist_id": artist_id, "artist_latitude": None,
            "artist_longitude": None, "artist_location": "", "artist_name": artist,
            "song_id": song_id, "title": title, "duration": duration, "year": 0}))
    (raw / LOG_KEY).parent.mkdir(parents=True)
    (raw / LOG_KEY).write_text("\n".join(lines), encoding="utf-8")

    quarantined, good = [], []
    for number, line in enumerate(lines, start=1):
        try:
            good.append(check_line("log_data", line, line.encode()))
        except LineProblem as problem:
            quarantined.append((number, problem.reason))
    assert len(quarantined) == REFUSED and len(good) == len(events.accepted)
    identities = {event_identity(record): record for record in good}
    assert len({event_key(record) for record in good}) < len(identities)  # keys on two days
    events_expected = {(int(user) if user else None, session, item, day)
                       for ((user, session, item), day) in identities}
    plays = {(int(user), session, item, day)
             for ((user, session, item), day), record in identities.items()
             if user and record["page"] == "NextSong"}
    users = {int(user) for (user, _session, _item), _day in identities if user}
    return raw, Expected(len(good), events_expected, plays, matched, users, quarantined)


def _assert_accounted_for(expected: Expected, rows: Rows, schema: str,
                          quarantined: list[tuple[int, str]]) -> None:
    assert quarantined == expected.quarantined
    events = rows(f"select user_id, session_id, item_in_session, event_date "
                  f"from {schema}_intermediate.int_events__deduplicated")
    assert len(events) == len(expected.events)
    assert {(row["user_id"], row["session_id"], row["item_in_session"], row["event_date"])
            for row in events} == expected.events
    plays = rows(f"select user_id, session_id, item_in_session, start_date, song_id "
                 f"from {schema}.fct_songplays")
    assert len(plays) == len(expected.plays)
    assert {(row["user_id"], row["session_id"], row["item_in_session"], row["start_date"])
            for row in plays} == expected.plays
    songs = {(row["user_id"], row["session_id"], row["item_in_session"], row["start_date"]):
             row["song_id"] for row in plays if row["song_id"] is not None}
    assert songs == expected.matched
    users = rows(f"select user_id from {schema}.dim_users")
    assert {row["user_id"] for row in users} == expected.users
    # pyspark cannot hand 0001-01-01T00:00 to Python (datetime.fromtimestamp): years only
    years = rows(f"select min(year) as first_year, max(year) as last_year, count(*) as n "
                 f"from {schema}.dim_time")[0]
    assert (years["first_year"], years["last_year"]) == (1, 9999)  # the ends of the range
    assert years["n"] == len({row["start_time_epoch_ms"] for row in rows(
        f"select distinct start_time_epoch_ms from {schema}_intermediate.int_events__deduplicated"
        f" where page = 'NextSong' and user_id is not null")})


def test_generated_events_build_on_postgres(generated: tuple[Path, Expected], pg_database: str,
                                            tmp_path: Path) -> None:
    raw, expected = generated
    stage_postgres(str(raw), schema="sparkify_raw")
    run_dbt(PROJECT_DIR, ["build", "--target-path", str(tmp_path / "target")],
            target="postgres")

    def rows(sql: str) -> list[dict[str, Any]]:
        return postgres_rows(pg_database, sql)

    assert rows("select count(*) as n from sparkify_raw.log_data")[0]["n"] == expected.raw_rows
    quarantined = [(row["line_number"], row["reason"]) for row in rows(
        "select line_number, reason from sparkify_raw._quarantined_lines "
        "order by line_number")]
    _assert_accounted_for(expected, rows, "sparkify", quarantined)


def test_generated_events_build_on_spark(generated: tuple[Path, Expected], spark: Any,
                                         session_state: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    raw, expected = generated
    tag = uuid.uuid4().hex[:6]  # the tests share one metastore
    schema, raw_schema = f"gen_{tag}", f"gen_{tag}_raw"
    monkeypatch.setenv("SPARKIFY_SCHEMA", schema)
    monkeypatch.setenv("SPARKIFY_RAW_SCHEMA", raw_schema)
    state = StatePaths(session_state)
    stage_spark(str(raw), schema=raw_schema, state=state, spark=spark)
    run_dbt(PROJECT_DIR, ["build", "--target-path", str(tmp_path / "target")], target="spark")

    def rows(sql: str) -> list[dict[str, Any]]:
        return [row.asDict() for row in spark.sql(sql).collect()]

    assert rows(f"select count(*) as n from {raw_schema}.log_data")[0]["n"] == expected.raw_rows
    _entries, quarantine = ledger_entries(landing_of(state, str(raw)))
    _assert_accounted_for(expected, rows, schema,
                          [(row[2], row[3]) for row in quarantine])


def test_a_key_resent_the_next_day_is_another_play_on_postgres(
        pg_database: str, tmp_path: Path) -> None:
    """Issue 25: a generated day is built; then the next day's object brings a play of that
    day again with its `ts` a day later, twice (a client resending it, then a redelivery of
    that). The incremental build of the next day passes every test, and the key is two
    plays (one per day) whose songplay_ids are the reference's; the redelivery is removed."""
    raw = tmp_path / "raw"
    generate(raw, GenerateConfig(songs=20, days=1, events_per_day=120, seed=25,
                                        start_date=dt.date(2018, 11, 1)))
    [day_log] = sorted((raw / "log_data").rglob("*.json"))
    records = [json.loads(line) for line in day_log.read_text().splitlines() if line.strip()]
    play = next(record for record in records
                if record["page"] == "NextSong" and record["userId"])
    resent = json.dumps({**play, "ts": play["ts"] + 86_400_000})
    build = ["build", "--target-path", str(tmp_path / "target")]
    stage_postgres(str(raw), schema="sparkify_raw")
    run_dbt(PROJECT_DIR, build, target="postgres")
    day_log.with_name(day_log.name.replace("-01-", "-02-")).write_text(f"{resent}\n{resent}\n")
    stage_postgres(str(raw), schema="sparkify_raw")
    run_dbt(PROJECT_DIR, build, target="postgres")  # raises when a test fails

    plays = postgres_rows(pg_database, "select songplay_id, start_date from sparkify.fct_songplays")
    expected = build_expected_marts(raw, PROJECT_DIR / "seeds" / "us_states.csv")
    assert sorted(row["songplay_id"] for row in plays) \
        == [row["songplay_id"] for row in expected["fct_songplays"]]
    key = (int(play["userId"]), play["sessionId"], play["itemInSession"])
    both_days = [row for row in expected["fct_songplays"]
                 if (row["user_id"], row["session_id"], row["item_in_session"]) == key]
    assert sorted(row["start_date"] for row in both_days) \
        == [dt.date(2018, 11, 1), dt.date(2018, 11, 2)]
