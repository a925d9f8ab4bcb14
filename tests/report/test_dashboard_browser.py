"""The dashboard as people see it: `streamlit run` serves it, headless Chromium opens each page.

The app is served on a free local port against the PostgreSQL marts of tests/report/conftest.py.
On each page the test waits until plotly has drawn every chart, then compares what was drawn
with the query module: the charts' titles, the number of marks each one drew (bars, line
points, heat-map cells), and the headline figures. Screenshots of every page go to the test's
folder and to target/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.report import health, queries
from ingest.report.commands import report_source
from ingest.report.pages import HEALTH, LISTENING, PAGES, SONGS, USERS
from ingest.report.queries import Filters, Table
from tests.support.browser import chrome_session, save_screenshot
from tests.support.project import PROJECT_DIR
from tests.support.report_data import BuiltMarts

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.dbt]

URL_PATHS = {LISTENING: "", USERS: "users", SONGS: "songs", HEALTH: "health"}
# marks a chart draws per row of its table: bars, line points (heat-map cells: one per row)
BARS_PER_ROW = {"activity_per_month": 2, "activity_per_week": 2, "plays_per_region": 2,
                "matching_per_day": 2, "hour_by_weekday": 0}
POINTS_PER_ROW = {"activity_per_month": 1, "activity_per_week": 1}
CELLS_PER_ROW = {"hour_by_weekday": 1}

# What plotly drew in each chart: its title, its SVG marks, and the heat map's filled cells.
_DRAWN_JS = """
return [...document.querySelectorAll('.js-plotly-plot')].map(plot => ({
  title: (plot.layout && plot.layout.title && plot.layout.title.text) || '',
  bars: plot.querySelectorAll('.barlayer .point path').length,
  points: plot.querySelectorAll('.scatterlayer .points path').length,
  heatmaps: plot.querySelectorAll('.heatmaplayer image').length,
  cells: (plot._fullData || []).filter(trace => trace.type === 'heatmap')
           .map(trace => trace.z.flat().filter(value => value !== null).length)
           .reduce((a, b) => a + b, 0),
}));
"""
_METRICS_JS = """
return [...document.querySelectorAll('[data-testid="stMetric"]')].map(metric => [
  metric.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
  metric.querySelector('[data-testid="stMetricValue"]').innerText.trim()]);
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def dashboard(pg_marts: BuiltMarts, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[str]:
    """`streamlit run dashboards/app.py` on 127.0.0.1, reading pg_marts; its URL."""
    port = _free_port()
    env = {**os.environ, "SPARKIFY_TARGET": "postgres",
           "SPARKIFY_PG_DATABASE": str(pg_marts.database), "SPARKIFY_SCHEMA": pg_marts.schema,
           "SPARKIFY_RAW_SCHEMA": pg_marts.raw_schema,
           "DBT_TARGET_PATH": str(pg_marts.target_dir)}
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(PROJECT_DIR / "dashboards/app.py"),
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--browser.gatherUsageStats", "false"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path_factory.getbasetemp())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                pass
            assert server.poll() is None, f"streamlit exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"streamlit never answered: {log.read_text()}"
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _expected(table: Table) -> dict[str, Any]:
    rows = len(table.rows)
    return {"title": table.title, "bars": BARS_PER_ROW.get(table.name, 1) * rows,
            "points": POINTS_PER_ROW.get(table.name, 0) * rows,
            "heatmaps": int(table.name in CELLS_PER_ROW), "cells": CELLS_PER_ROW.get(
                table.name, 0) * rows}


def _drawn(chrome: Any, charts: int, timeout: float = 45) -> list[dict[str, Any]]:
    """What the page drew, once it shows `charts` plotly charts and stops changing."""
    deadline = time.monotonic() + timeout
    last: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        drawn = chrome.execute_script(_DRAWN_JS)
        if len(drawn) == charts and all(chart["title"] for chart in drawn) and drawn == last:
            return list(drawn)
        last = drawn
        time.sleep(1.0)
    raise AssertionError(f"the page drew {len(last)} of {charts} charts: {last}")


def test_every_page_draws_what_the_query_module_says(
        dashboard: str, pg_settings: BuiltMarts, tmp_path: Path) -> None:
    source = report_source()
    reader = source.reader()
    try:
        everything = Filters()
        expected_tables = {page: [make(reader, everything) for make in makes]
                           for page, makes in PAGES.items()}
        top = queries.headline(reader, everything)
    finally:
        reader.close()
    snapshot = source.ledger()
    expected_tables[HEALTH] = [health.loads_per_day(snapshot),
                               health.quarantine_reasons(snapshot)]
    wanted_metrics = {"Plays": f"{top.plays:,}", "Users": f"{top.users:,}",
                      "Matched to a song": f"{top.matched_share:.1%}"}

    # a tall window: every chart is in view, and in the screenshot
    with chrome_session(tmp_path, window="1400,4000") as chrome:
        for page, tables in expected_tables.items():
            chrome.get(f"{dashboard}/{URL_PATHS[page]}")
            drawn = _drawn(chrome, len(tables))
            assert drawn == [_expected(table) for table in tables], page
            metrics = dict(chrome.execute_script(_METRICS_JS))
            if page == HEALTH:
                assert metrics["Lines quarantined"] == f"{len(snapshot.quarantined):,}"
                assert metrics["Pending, failed or rejected"] == "1"
            else:
                assert {name: metrics.get(name) for name in wanted_metrics} == wanted_metrics
            name = URL_PATHS[page] or "listening"  # the default page is at /
            shot = save_screenshot(chrome, tmp_path, f"dashboard-{name}.png")
            assert shot.stat().st_size > 20_000, f"{shot} looks empty"
