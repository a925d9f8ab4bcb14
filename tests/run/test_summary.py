"""What `make run` prints at the end: the marts, the tests, and how to open docs and dashboard."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.run.dbt import DbtOutcome
from ingest.run.pipeline import PipelineSummary, format_summary
from tests.support.project import PROJECT_DIR


def test_both_summaries_say_how_to_open_the_dashboard() -> None:
    built = PipelineSummary("s3://b/raw", 12.0, {"fct_songplays": 10, "dim_users": 2}, 4,
                            DbtOutcome(11, 1, 50, 1, 0, ("unique_x",)), Path("target/index.html"),
                            duplicates_removed=1234)
    nothing_new = PipelineSummary("s3://b/raw", 1.0, {}, 0, None, None)
    port = re.search(r"^DASHBOARD_PORT \?= (\d+)$", (PROJECT_DIR / "Makefile").read_text(),
                     flags=re.MULTILINE)
    assert port
    for summary in (built, nothing_new):
        text = format_summary(summary, "sparkify")
        assert f"`make dashboard`, then open http://127.0.0.1:{port.group(1)}" in text
    assert "plays matched to a song: 4 of 10" in format_summary(built, "sparkify")
    assert "duplicate deliveries removed: 1,234" in format_summary(built, "sparkify")
