"""Each page of the Streamlit app through Streamlit's AppTest (no browser, no server).

The pages read the PostgreSQL marts of tests/report/conftest.py through the settings, as
`make dashboard` does. A page renders without an exception, shows one chart and one CSV
download per figure, and its numbers follow the filters.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from ingest.report import queries
from ingest.report.commands import report_source
from ingest.report.pages import LISTENING, PAGES, SONGS, USERS
from ingest.report.queries import Filters
from tests.support.project import PROJECT_DIR
from tests.support.report_data import BAD_AT, BuiltMarts

pytestmark = pytest.mark.postgres
VIEWS = PROJECT_DIR / "dashboards" / "views"
FILES = {LISTENING: "listening.py", USERS: "users.py", SONGS: "songs.py"}


def _run(name: str) -> AppTest:
    app = AppTest.from_file(str(VIEWS / name), default_timeout=60).run()
    assert not app.exception, [error.message for error in app.exception]
    return app


def _metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def _charts(app: AppTest) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def _first_trace_y(app: AppTest) -> list[Any]:
    return list(_charts(app)[0]["data"][0]["y"])


@pytest.mark.parametrize("page", list(FILES))
def test_page_renders_every_figure_and_follows_the_filters(
        pg_settings: BuiltMarts, page: str) -> None:
    reader = report_source().reader()
    try:
        whole = queries.headline(reader, Filters())
        paid = Filters(level="paid")
        first_paid = PAGES[page][0](reader, paid)
        paid_top = queries.headline(reader, paid)
        state = queries.filter_options(reader).states[0]
        in_state = queries.headline(reader, Filters(level="paid", state=state))
        titles = [figure(reader, Filters()).title for figure in PAGES[page]]
    finally:
        reader.close()

    app = _run(FILES[page])
    charts = _charts(app)
    assert [chart["layout"]["title"]["text"] for chart in charts] == titles
    assert len(app.get("download_button")) == len(PAGES[page])
    assert _metrics(app)["Plays"] == f"{whole.plays:,}"

    app.selectbox(key="level").set_value("paid").run()
    assert not app.exception
    assert _metrics(app)["Plays"] == f"{paid_top.plays:,}" != f"{whole.plays:,}"
    column = "plays" if "plays" in first_paid.columns else first_paid.columns[-1]
    if page == LISTENING:  # plays per day: the bars are the paid plays now
        assert _first_trace_y(app) == first_paid.column(column)

    app.selectbox(key="state").set_value(state).run()
    assert not app.exception
    assert _metrics(app)["Plays"] == f"{in_state.plays:,}"


def test_date_filter_narrows_the_days(pg_settings: BuiltMarts) -> None:
    app = _run(FILES[LISTENING])
    days = app.date_input(key="days")
    first, last = days.value
    app.date_input(key="days").set_value((first, first)).run()
    assert not app.exception
    assert len(_charts(app)[0]["data"][0]["x"]) == 1, "plays per day: one day left"
    reader = report_source().reader()
    try:
        one_day = queries.headline(reader, Filters(first, first))
    finally:
        reader.close()
    assert _metrics(app)["Plays"] == f"{one_day.plays:,}"
    assert first < last


def test_health_page(pg_settings: BuiltMarts) -> None:
    app = _run("health.py")
    metrics = _metrics(app)
    assert metrics["Lines quarantined"] == str(len(BAD_AT))
    assert metrics["Pending, failed or rejected"] == "1"
    assert metrics["Failed or errored"] == "0"
    assert int(metrics["Tests passed"]) > 40
    assert len(_charts(app)) == 2


@pytest.mark.parametrize("view", ["songs.py", "health.py"])
def test_a_page_without_marts_says_what_to_do(pg_settings: BuiltMarts, view: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKIFY_SCHEMA", "nowhere")
    app = AppTest.from_file(str(VIEWS / view), default_timeout=60).run()
    assert not app.exception
    assert [error.value for error in app.error if "are the marts built?" in error.value]
    assert not app.get("plotly_chart") and not app.metric
