"""The dbt docs as people browse them, in a real (headless) Chromium.

The docs are generated against PostgreSQL (no Spark): the hand-written raw fixture is
staged into a throw-away database, `dbt build` and `dbt docs generate` run, and target/ is
served on 127.0.0.1 by a plain http.server. Chromium then opens the overview and the
`fct_songplays` page, checks that the description (row, grain, keys, matching rule) and
every column render, opens the lineage graph and checks what it draws. Screenshots are
saved in the test's tmp_path and copied to target/screenshots/.

The same build checks what needs a warehouse: docs coverage of every column the warehouse
has (dbt-coverage on catalog.json), and that the example analyses compile and run.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ingest.run.dbt import run_dbt
from tests.support.browser import SCREENSHOTS, chrome_session, save_screenshot
from tests.support.manifest import Manifest
from tests.support.project import FIXTURES, PROJECT_DIR, postgres_rows
from tests.support.staging import stage_postgres

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.dbt]

ANALYSES = ("songs_played_by_user_on_paid_level", "plays_of_artist_by_user", "top_songs",
            "top_artists", "plays_per_hour_of_day", "free_vs_paid_activity_by_month")


@dataclass(frozen=True)
class DocsSite:
    url: str
    target: Path
    database: str


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _admin_connection() -> Any:
    import psycopg2

    connection = psycopg2.connect(
        host=os.environ.get("SPARKIFY_PG_HOST", "127.0.0.1"),
        port=os.environ.get("SPARKIFY_PG_PORT", "5432"),
        user=os.environ.get("SPARKIFY_PG_USER", "postgres"), dbname="postgres")
    connection.autocommit = True
    return connection


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsSite]:
    """Docs generated on a throw-away PostgreSQL database, served on a free local port."""
    database = f"sparkify_docs_{uuid.uuid4().hex[:10]}"
    target = tmp_path_factory.mktemp("docs") / "target"
    admin = _admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{database}"')
    server: http.server.ThreadingHTTPServer | None = None
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SPARKIFY_PG_DATABASE", database)
            patch.setenv("SPARKIFY_SCHEMA", "sparkify")
            stage_postgres(str(FIXTURES / "raw_handwritten"), schema="sparkify_raw")
            for command in (["build"], ["docs", "generate"]):
                run_dbt(PROJECT_DIR, [*command, "--target-path", str(target)],
                        target="postgres")
        handler = functools.partial(_QuietHandler, directory=str(target))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield DocsSite(f"http://127.0.0.1:{server.server_address[1]}", target, database)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{database}" with (force)')
        admin.close()


@pytest.fixture()
def chrome(tmp_path: Path) -> Iterator[Any]:
    with chrome_session(tmp_path) as session:
        yield session


# The lineage graph is drawn by cytoscape on <canvas>: read what it drew through its API,
# and count the painted pixels of its canvases.
_GRAPH_NODES_JS = """
const element = document.querySelector('#graph-viz-wrapper [graph-viz]');
const cy = element && element._cyreg && element._cyreg.cy;
return cy ? cy.nodes().map(node => node.data('label') || node.id()) : null;
"""
_PAINTED_PIXELS_JS = """
let painted = 0;
for (const canvas of document.querySelectorAll('#graph-viz-wrapper canvas')) {
  if (!canvas.width || !canvas.height) continue;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
}
return painted;
"""


def test_docs_show_the_fact_page_and_its_lineage_graph(
    docs_site: DocsSite, chrome: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(chrome, 30)
    shots = tmp_path / "screenshots"

    def text_shown(text: str) -> str:
        """Wait until the page shows `text` (visible text only); the page's text."""
        def page_text(driver: Any) -> str | bool:
            body = str(driver.find_element(By.TAG_NAME, "body").text)
            return body if text in body else False

        shown: str = wait.until(page_text, message=f"the page never showed {text!r}")
        return shown

    # the overview explains the project and the lineage
    chrome.get(f"{docs_site.url}/#!/overview")
    overview = text_shown("Sparkify star schema")
    for expected in ("Lineage", "stg_sparkify__events", "int_songplays__matched_to_songs",
                     "How plays are matched to songs"):
        assert expected in overview
    save_screenshot(chrome, shots, "docs-overview.png")

    # the fact's page: description, then every column of the model
    chrome.get(f"{docs_site.url}/#!/model/model.sparkify.fct_songplays")
    body = text_shown("Row:")
    for section in ("Row:", "Grain:", "Keys:", "Matching:", "Loading:"):
        assert section in body
    assert "one song play" in body
    assert "the closest duration wins, then the smallest song_id" in body
    manifest = Manifest.load(docs_site.target / "manifest.json")
    fact = next(model for model in manifest.models if model["name"] == "fct_songplays")
    columns = list(fact["columns"])
    assert "songplay_id" in columns and len(columns) >= 10
    column_table = chrome.find_element(
        By.XPATH, "//*[@id='columns' or normalize-space(text())='Columns']/following::table[1]")
    table_text = column_table.text
    for column in columns:
        assert column in table_text, f"column {column} not shown"
    assert "Key of a song play" in table_text
    save_screenshot(chrome, shots, "docs-fct_songplays.png")
    chrome.execute_script("arguments[0].scrollIntoView(); window.scrollBy(0, -120);",
                          column_table)
    save_screenshot(chrome, shots, "docs-fct_songplays-columns.png")

    # the lineage graph: the button at the bottom right opens it, centred on the model
    button = wait.until(expected_conditions.element_to_be_clickable(
        (By.CSS_SELECTOR, ".launcher-btn a")))
    button.click()
    wait.until(expected_conditions.presence_of_element_located(
        (By.CSS_SELECTOR, ".launcher.on #graph-viz-wrapper canvas")))
    wait.until(lambda driver: (driver.execute_script(_GRAPH_NODES_JS) or []) and
               driver.execute_script(_PAINTED_PIXELS_JS) > 0)
    nodes = set(chrome.execute_script(_GRAPH_NODES_JS))
    assert {"fct_songplays", "int_songplays__matched_to_songs", "stg_sparkify__songs",
            "dim_time", "Listening activity dashboard"} <= nodes, nodes
    save_screenshot(chrome, shots, "docs-fct_songplays-lineage.png")

    assert len(list(shots.glob("*.png"))) == 4
    assert (SCREENSHOTS / "docs-fct_songplays-lineage.png").exists()


def test_every_warehouse_column_is_documented(docs_site: DocsSite, tmp_path: Path) -> None:
    """dbt-coverage on catalog.json: the columns the warehouse really has, not just the YAML."""
    coverage = Path(sys.executable).with_name("dbt-coverage")
    result = subprocess.run(
        [str(coverage), "compute", "doc", "--project-dir", str(PROJECT_DIR),
         "--run-artifacts-dir", str(docs_site.target), "--cov-fail-under", "1.0",
         "--cov-report", str(tmp_path / "coverage.json")],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    total = next(line for line in result.stdout.splitlines() if line.startswith("Total"))
    assert total.split()[-1] == "100.0%", result.stdout


def test_example_analyses_compile_and_answer(docs_site: DocsSite) -> None:
    compiled = docs_site.target / "compiled" / "sparkify" / "analyses"
    answers: dict[str, list[dict[str, Any]]] = {}
    for name in ANALYSES:
        sql = (compiled / f"{name}.sql").read_text(encoding="utf-8")
        assert "{{" not in sql and "ref(" not in sql
        answers[name] = postgres_rows(docs_site.database, sql)
    # the hand-written fixture: user 10 upgrades to paid on 2018-11-02 and plays Beyoncé
    assert {row["title"] for row in answers["songs_played_by_user_on_paid_level"]} == {
        "Single Ladies (Put a Ring on It)"}
    assert [row["title"] for row in answers["plays_of_artist_by_user"]] == [
        "Halo", "Halo", "Single Ladies (Put a Ring on It)"]
    assert answers["top_songs"][0]["title"] == "Halo"
    assert answers["top_songs"][0]["play_count"] == 3
    assert answers["top_artists"][0]["artist_name"] == "Beyoncé"
    assert sum(row["play_count"] for row in answers["plays_per_hour_of_day"]) == 9
    levels = {row["level"] for row in answers["free_vs_paid_activity_by_month"]}
    assert levels == {"free", "paid"}
