"""`python -m ingest report`: every chart as a PNG and one self-contained HTML file."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ingest.cli import main
from ingest.report.pages import PAGES
from tests.support.browser import browser_and_driver
from tests.support.report_data import BuiltMarts

pytestmark = [pytest.mark.postgres, pytest.mark.browser]  # kaleido drives Chromium
HEALTH_CHARTS = 2


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_writes_every_chart_as_png_and_one_html(
        pg_settings: BuiltMarts, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    browser_and_driver()  # skips without a Chromium: kaleido's PNG export drives one
    out = tmp_path / "report"
    assert main(["report", "--target", "postgres", "--out", str(out)]) == 0

    charts = sum(len(figures) for figures in PAGES.values()) + HEALTH_CHARTS
    images = sorted(out.rglob("*.png"))
    assert len(images) == charts
    for image in images:
        assert _png_size(image) == (1000, 450)
        assert image.stat().st_size > 10_000, f"{image} looks empty"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count('class="plotly-graph-div"') == charts
    assert "<script src=" not in page, "the HTML must not load anything (self-contained)"
    assert page.count("plotly.js v") >= 1 and len(page) > 3_000_000
    assert f"report: {out / 'report.html'} and {charts} PNG files" in capsys.readouterr().out


def test_report_filters_and_errors(pg_settings: BuiltMarts, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "paid"
    assert main(["report", "--target", "postgres", "--out", str(out), "--no-png",
                 "--level", "paid", "--from", "2018-11-26", "--to", "2018-11-30"]) == 0
    assert not list(out.rglob("*.png"))
    assert "level: paid" in (out / "report.html").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["report", "--target", "postgres", "--state", "California"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: state must be a two-letter code such as CA, not 'California'")
