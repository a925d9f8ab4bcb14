"""The raw data the report and dashboard tests build their marts from, and that build.

A small generated set across a month boundary (two months, several ISO weeks, users who
change level), plus one log object with bad lines (quarantined) and one gzip log object
(rejected): every page of the dashboard has something to show.
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass
from pathlib import Path

from ingest.sample.generate import GenerateConfig, generate
from tests.support.raw_lines import good_event, log_key, log_with_bad_lines

START = dt.date(2018, 11, 24)
DAYS = 10
BAD_DAY = START + dt.timedelta(days=DAYS)  # 2018-12-04: the object with bad lines
REJECTED_DAY = BAD_DAY + dt.timedelta(days=1)
BAD_AT = (3, 100)  # not valid JSON, a JSON list (the positions raw_lines knows)


@dataclass(frozen=True)
class BuiltMarts:
    """Marts built from write_raw's data: where, and dbt's target folder."""

    raw: Path
    target_dir: Path
    database: str | None = None  # PostgreSQL only
    schema: str = "sparkify"
    raw_schema: str = "sparkify_raw"


def write_raw(root: Path) -> Path:
    generate(root, GenerateConfig(songs=40, days=DAYS, events_per_day=150, seed=17,
                                  start_date=START, known_song_share=0.6))
    bad = root / log_key(BAD_DAY)
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(log_with_bad_lines(BAD_DAY, 110, BAD_AT))
    rejected = root / log_key(REJECTED_DAY)
    rejected.write_bytes(gzip.compress(good_event(REJECTED_DAY, 1).encode()))
    return root
