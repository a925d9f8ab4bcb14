"""Which figures each page of the dashboard (and each section of the report) shows."""

from __future__ import annotations

from collections.abc import Callable

from ingest.report import queries
from ingest.report.queries import Filters, Table
from ingest.report.readers import Reader

Figure = Callable[[Reader, Filters], Table]

LISTENING = "Listening activity"
USERS = "Users"
SONGS = "Songs and artists"
HEALTH = "Pipeline health"

PAGES: dict[str, tuple[Figure, ...]] = {
    LISTENING: (queries.plays_per_day, queries.plays_per_hour, queries.hour_by_weekday,
                queries.activity_per_month, queries.activity_per_week),
    USERS: (queries.users_by_level_and_gender, queries.level_changes_per_day,
            queries.top_users, queries.plays_per_state, queries.plays_per_region),
    SONGS: (queries.top_songs, queries.top_artists, queries.matching_per_day),
}


def page_tables(page: str, reader: Reader, filters: Filters) -> list[Table]:
    """The tables of one page's figures, in order."""
    return [figure(reader, filters) for figure in PAGES[page]]
