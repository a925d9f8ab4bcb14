"""Every figure of the dashboard and the report: one function each, one select on the marts.

Each function takes a reader (ingest.report.readers) and the filters, and returns a Table:
named columns and rows of plain values, ready to chart and to download. The SQL names a
mart only as `{model}`, filled in with the reader's relation for it, so the same text runs on
PostgreSQL, Redshift and DuckDB (the Spark warehouse's files); ingest.report.models lists
the models it may name.

Filters: a date range (on the play's UTC date), the level of the play, the user's state.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from ingest.errors import IngestError
from ingest.report.readers import Reader, Row, one_row

Level = Literal["free", "paid"]
LEVELS: tuple[Level, ...] = ("free", "paid")
TOP = 10
_STATE = re.compile(r"^[A-Z]{2}$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Filters:
    """What the sidebar selects; None means everything."""

    start: dt.date | None = None
    end: dt.date | None = None
    level: Level | None = None
    state: str | None = None

    def __post_init__(self) -> None:
        if self.level is not None and self.level not in LEVELS:
            raise IngestError(f"level must be one of {', '.join(LEVELS)}, not {self.level!r}")
        if self.state is not None and not _STATE.match(self.state):
            raise IngestError(f"state must be a two-letter code such as CA, not {self.state!r}")

    def clause(self, *, with_level: bool = True) -> str:
        """The condition on `plays` (fct_songplays); values are typed and checked, so they
        are written as literals (the same text on every engine, no paramstyle)."""
        conditions = ["1 = 1"]
        if self.start is not None:
            conditions.append(f"plays.start_date >= date '{self.start.isoformat()}'")
        if self.end is not None:
            conditions.append(f"plays.start_date <= date '{self.end.isoformat()}'")
        if with_level and self.level is not None:
            conditions.append(f"plays.level = '{self.level}'")
        if self.state is not None:
            conditions.append("plays.user_id in (select filtered_users.user_id from "
                              "{dim_users} as filtered_users "
                              f"where filtered_users.state_code = '{self.state}')")
        return " and ".join(conditions)


@dataclass(frozen=True)
class Table:
    """One figure's numbers: a title, column names and rows."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def csv(self) -> str:
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue()


@dataclass(frozen=True)
class Headline:
    """The numbers at the top of the pages."""

    plays: int
    users: int
    matched_plays: int
    paid_plays: int
    first_day: dt.date | None
    last_day: dt.date | None
    latest_play: dt.datetime | None

    @property
    def matched_share(self) -> float:
        return self.matched_plays / self.plays if self.plays else 0.0


@dataclass(frozen=True)
class FilterOptions:
    """What the filters can choose from: the days with plays and the users' states."""

    first_day: dt.date | None
    last_day: dt.date | None
    states: tuple[str, ...]


def render(template: str, reader: Reader, filters: Filters, *, with_level: bool = True) -> str:
    """The template with `{where}` and each `{model}` filled in for `reader`."""
    text = template.replace("{where}", filters.clause(with_level=with_level))
    return _PLACEHOLDER.sub(lambda match: reader.relation(match.group(1)), text)


def models_named(template: str) -> set[str]:
    """The models a template (or a filter clause) names as `{model}`."""
    return {name for name in _PLACEHOLDER.findall(template) if name != "where"}


def _table(reader: Reader, filters: Filters, name: str, title: str,
           columns: tuple[str, ...], template: str, *, with_level: bool = True) -> Table:
    rows = reader.rows(render(template, reader, filters, with_level=with_level))
    return Table(name, title, columns, tuple(rows))


# --- the SQL of each figure (tests/report read SQL_TEMPLATES to check the models named) ---

PLAYS_PER_DAY = """
select plays.start_date as day, count(*) as plays
from {fct_songplays} as plays
where {where}
group by plays.start_date
order by day"""

PLAYS_PER_HOUR = """
select times.hour, count(*) as plays
from {fct_songplays} as plays
inner join {dim_time} as times on plays.start_time = times.start_time
where {where}
group by times.hour
order by times.hour"""

HOUR_BY_WEEKDAY = """
select times.weekday, times.hour, count(*) as plays
from {fct_songplays} as plays
inner join {dim_time} as times on plays.start_time = times.start_time
where {where}
group by times.weekday, times.hour
order by times.weekday, times.hour"""

ACTIVITY_PER_PERIOD = """
select
    cast(date_trunc('PERIOD', plays.start_time) as date) as period_start,
    sum(case when plays.level = 'free' then 1 else 0 end) as free_plays,
    sum(case when plays.level = 'paid' then 1 else 0 end) as paid_plays,
    count(distinct plays.user_id) as active_users
from {fct_songplays} as plays
where {where}
group by cast(date_trunc('PERIOD', plays.start_time) as date)
order by period_start"""

USERS_BY_LEVEL_AND_GENDER = """
select users.level, coalesce(users.gender, '?') as gender, count(*) as users
from {dim_users} as users
where users.user_id in (select plays.user_id from {fct_songplays} as plays where {where})
group by users.level, coalesce(users.gender, '?')
order by users.level, gender"""

LEVEL_CHANGES_PER_DAY = """
with ordered as (
    select
        plays.start_date,
        plays.level,
        lag(plays.level) over (
            partition by plays.user_id
            order by plays.start_time, plays.session_id, plays.item_in_session
        ) as previous_level
    from {fct_songplays} as plays
    where {where}
)
select start_date as day, previous_level as from_level, level as to_level, count(*) as changes
from ordered
where previous_level <> level
group by start_date, previous_level, level
order by day, from_level"""

TOP_USERS = f"""
select users.user_id, users.first_name, users.last_name, users.level, count(*) as plays
from {{fct_songplays}} as plays
inner join {{dim_users}} as users on plays.user_id = users.user_id
where {{where}}
group by users.user_id, users.first_name, users.last_name, users.level
order by plays desc, users.user_id
limit {TOP}"""

PLAYS_PER_STATE = """
select
    coalesce(users.state_code, '?') as state_code,
    coalesce(users.state_name, users.state_code, 'unknown') as state_name,
    coalesce(users.census_region, 'unknown') as census_region,
    count(*) as plays,
    count(distinct plays.user_id) as users
from {fct_songplays} as plays
inner join {dim_users} as users on plays.user_id = users.user_id
where {where}
group by users.state_code, users.state_name, users.census_region
order by plays desc, state_code"""

TOP_SONGS = f"""
select songs.song_id, songs.title, artists.name as artist, count(*) as plays
from {{fct_songplays}} as plays
inner join {{dim_songs}} as songs on plays.song_id = songs.song_id
left join {{dim_artists}} as artists on songs.artist_id = artists.artist_id
where {{where}}
group by songs.song_id, songs.title, artists.name
order by plays desc, songs.song_id
limit {TOP}"""

TOP_ARTISTS = f"""
select artists.artist_id, artists.name as artist, count(*) as plays
from {{fct_songplays}} as plays
inner join {{dim_artists}} as artists on plays.artist_id = artists.artist_id
where {{where}}
group by artists.artist_id, artists.name
order by plays desc, artists.artist_id
limit {TOP}"""

MATCHING_PER_DAY = """
select
    plays.start_date as day,
    count(plays.song_id) as matched,
    count(*) - count(plays.song_id) as unmatched
from {fct_songplays} as plays
where {where}
group by plays.start_date
order by day"""

HEADLINE = """
select
    count(*) as plays,
    count(distinct plays.user_id) as users,
    count(plays.song_id) as matched_plays,
    sum(case when plays.level = 'paid' then 1 else 0 end) as paid_plays,
    min(plays.start_date) as first_day,
    max(plays.start_date) as last_day,
    max(plays.start_time) as latest_play
from {fct_songplays} as plays
where {where}"""

DAYS = """
select min(plays.start_date) as first_day, max(plays.start_date) as last_day
from {fct_songplays} as plays"""

STATES = """
select distinct users.state_code
from {dim_users} as users
where users.state_code is not null
order by users.state_code"""

ACTIVITY_PER_MONTH = ACTIVITY_PER_PERIOD.replace("PERIOD", "month")
ACTIVITY_PER_WEEK = ACTIVITY_PER_PERIOD.replace("PERIOD", "week")

# every select of this module, by name (tests/report check the models each one names)
SQL_TEMPLATES: dict[str, str] = {
    "plays_per_day": PLAYS_PER_DAY, "plays_per_hour": PLAYS_PER_HOUR,
    "hour_by_weekday": HOUR_BY_WEEKDAY, "activity_per_month": ACTIVITY_PER_MONTH,
    "activity_per_week": ACTIVITY_PER_WEEK,
    "users_by_level_and_gender": USERS_BY_LEVEL_AND_GENDER,
    "level_changes_per_day": LEVEL_CHANGES_PER_DAY, "top_users": TOP_USERS,
    "plays_per_state": PLAYS_PER_STATE,
    "top_songs": TOP_SONGS, "top_artists": TOP_ARTISTS, "matching_per_day": MATCHING_PER_DAY,
    "headline": HEADLINE, "days": DAYS, "states": STATES,
}


def plays_per_day(reader: Reader, filters: Filters) -> Table:
    return _table(reader, filters, "plays_per_day", "Plays per day (UTC)",
                  ("day", "plays"), PLAYS_PER_DAY)


def plays_per_hour(reader: Reader, filters: Filters) -> Table:
    return _table(reader, filters, "plays_per_hour", "Plays per hour of day (UTC)",
                  ("hour", "plays"), PLAYS_PER_HOUR)


def hour_by_weekday(reader: Reader, filters: Filters) -> Table:
    return _table(reader, filters, "hour_by_weekday", "Plays by weekday and hour (UTC)",
                  ("weekday", "hour", "plays"), HOUR_BY_WEEKDAY)


def _activity(reader: Reader, filters: Filters, period: Literal["month", "week"]) -> Table:
    return _table(reader, filters, f"activity_per_{period}",
                  f"Free and paid plays, active users per {period}",
                  ("period_start", "free_plays", "paid_plays", "active_users"),
                  ACTIVITY_PER_MONTH if period == "month" else ACTIVITY_PER_WEEK)


def activity_per_month(reader: Reader, filters: Filters) -> Table:
    return _activity(reader, filters, "month")


def activity_per_week(reader: Reader, filters: Filters) -> Table:
    """Weeks start on Monday (ISO), as dim_time's `week`."""
    return _activity(reader, filters, "week")


def users_by_level_and_gender(reader: Reader, filters: Filters) -> Table:
    """Users with a play in the filters, by their latest level and gender."""
    return _table(reader, filters, "users_by_level_and_gender",
                  "Users by level and gender (latest level)", ("level", "gender", "users"),
                  USERS_BY_LEVEL_AND_GENDER)


def level_changes_per_day(reader: Reader, filters: Filters) -> Table:
    """Plays whose level differs from the user's previous play (the level filter does not
    apply: within one level nothing changes)."""
    return _table(reader, filters, "level_changes_per_day", "Level changes per day",
                  ("day", "from_level", "to_level", "changes"), LEVEL_CHANGES_PER_DAY,
                  with_level=False)


def top_users(reader: Reader, filters: Filters) -> Table:
    return _table(reader, filters, "top_users", f"Top {TOP} users by plays",
                  ("user_id", "first_name", "last_name", "level", "plays"), TOP_USERS)


def plays_per_state(reader: Reader, filters: Filters) -> Table:
    return _table(reader, filters, "plays_per_state", "Plays and users per US state",
                  ("state_code", "state_name", "census_region", "plays", "users"),
                  PLAYS_PER_STATE)


def plays_per_region(reader: Reader, filters: Filters) -> Table:
    """The states' figures summed by census region: a user lives in one state (dim_users),
    so adding the states' distinct users counts each user once."""
    totals: dict[str, tuple[int, int]] = {}
    for _code, _name, region, plays, users in plays_per_state(reader, filters).rows:
        before = totals.get(region, (0, 0))
        totals[region] = (before[0] + plays, before[1] + users)
    rows = sorted(((region, plays, users) for region, (plays, users) in totals.items()),
                  key=lambda row: (-row[1], row[0]))
    return Table("plays_per_region", "Plays and users per census region",
                 ("census_region", "plays", "users"), tuple(rows))


def top_songs(reader: Reader, filters: Filters) -> Table:
    return _table(reader, filters, "top_songs", f"Top {TOP} songs (matched plays)",
                  ("song_id", "title", "artist", "plays"), TOP_SONGS)


def top_artists(reader: Reader, filters: Filters) -> Table:
    return _table(reader, filters, "top_artists", f"Top {TOP} artists (matched plays)",
                  ("artist_id", "artist", "plays"), TOP_ARTISTS)


def matching_per_day(reader: Reader, filters: Filters) -> Table:
    return _table(reader, filters, "matching_per_day", "Matched and unmatched plays per day",
                  ("day", "matched", "unmatched"), MATCHING_PER_DAY)


def headline(reader: Reader, filters: Filters) -> Headline:
    row = one_row(reader.rows(render(HEADLINE, reader, filters)))
    plays, users, matched, paid, first, last, latest = row
    return Headline(int(plays), int(users), int(matched), int(paid or 0), first, last, latest)


def filter_options(reader: Reader) -> FilterOptions:
    first, last = one_row(reader.rows(render(DAYS, reader, Filters())))
    states = reader.rows(render(STATES, reader, Filters()))
    return FilterOptions(first, last, tuple(str(row[0]) for row in states))
