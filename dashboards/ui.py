"""What every page of the dashboard draws: the filters, the headline, each chart with its
table and CSV download. The numbers all come from ingest.report (the query module); this
module only renders them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from ingest.errors import IngestError
from ingest.report.charts import figure
from ingest.report.commands import report_source
from ingest.report.pages import PAGES
from ingest.report.queries import Filters, Headline, Level, Table, filter_options, headline
from ingest.report.readers import Reader
from ingest.report.source import ReportSource

ALL = "all"


@dataclass
class Shown:
    """Whether the block of `errors_shown` failed (and said so on the page)."""

    failed: bool = False


@contextmanager
def errors_shown() -> Iterator[Shown]:
    """An error a user can fix (no marts yet, no server) is one line on the page; the
    caller stops drawing when `.failed`."""
    shown = Shown()
    try:
        yield shown
    except IngestError as exc:
        st.error(str(exc))
        shown.failed = True


@contextmanager
def opened_reader(source: ReportSource) -> Iterator[Reader]:
    reader = source.reader()
    try:
        yield reader
    finally:
        reader.close()


def filters(reader: Reader) -> Filters:
    """The sidebar: days, level, state (kept across pages by their keys)."""
    options = filter_options(reader)
    st.sidebar.header("Filters")
    start = end = None
    if options.first_day is not None and options.last_day is not None:
        chosen = st.sidebar.date_input(
            "Days (UTC)", value=(options.first_day, options.last_day),
            min_value=options.first_day, max_value=options.last_day, key="days")
        days = [day for day in (chosen if isinstance(chosen, tuple) else (chosen,))
                if isinstance(day, dt.date)]
        start, end = (days[0], days[-1]) if days else (None, None)
    level = st.sidebar.selectbox("Level of the play", (ALL, "free", "paid"), key="level")
    state = st.sidebar.selectbox("User's state", (ALL, *options.states), key="state")
    chosen_level: Level | None = "free" if level == "free" else "paid" if level == "paid" \
        else None
    return Filters(start, end, chosen_level, None if state == ALL else state)


def headline_row(top: Headline) -> None:
    columns = st.columns(4)
    columns[0].metric("Plays", f"{top.plays:,}")
    columns[1].metric("Users", f"{top.users:,}")
    columns[2].metric("Matched to a song", f"{top.matched_share:.1%}")
    columns[3].metric("Paid plays", f"{top.paid_plays / top.plays:.1%}" if top.plays else "-")


def chart(table: Table) -> None:
    """The chart, its numbers in an expander, and the numbers as a CSV download."""
    st.plotly_chart(figure(table), key=f"chart-{table.name}", width="stretch",
                    theme=None)
    with st.expander(f"{table.title}: the numbers"):
        st.dataframe([dict(zip(table.columns, row, strict=True)) for row in table.rows],
                     hide_index=True)
    st.download_button("Download the numbers (CSV)", table.csv(), file_name=f"{table.name}.csv",
                       mime="text/csv", key=f"download-{table.name}", on_click="ignore")


def marts_page(page: str, intro: str) -> None:
    """A page of charts over the marts: filters, headline, each figure of PAGES[page]."""
    st.title(page)
    with errors_shown() as shown:
        source = report_source()
        st.caption(intro)
        with opened_reader(source) as reader:
            chosen = filters(reader)
            headline_row(headline(reader, chosen))
            tables = [make(reader, chosen) for make in PAGES[page]]
        st.caption(f"Read from {reader.where}.")
    if shown.failed:
        return
    for table in tables:
        chart(table)
