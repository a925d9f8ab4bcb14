"""A batch source holding the songs and a first day, staged into Spark, for the tests that
then bring more days through a stream and compare the marts with the contract's."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from ingest.paths import StatePaths
from ingest.sample.generate import GenerateConfig, generate
from ingest.stage.spark import stage_spark
from tests.support.kinesis import event_lines


def log_path(raw: Path, day: dt.date) -> Path:
    return raw / "log_data" / f"{day:%Y}" / f"{day:%m}" / f"{day.isoformat()}-events.json"


def write_day(target: Path, day: dt.date, lines: list[str]) -> None:
    path = log_path(target, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def staged_first_day(root: Path, spark: Any, state: StatePaths, config: GenerateConfig,
                     raw_schema: str) -> tuple[Path, Path, Path]:
    """`full` (every generated day), `source` and `expected` (the songs and the first day),
    with `source` staged into `raw_schema`."""
    full, source, expected = root / "full", root / "source", root / "expected"
    generate(full, config)
    for folder in (source, expected):
        shutil.copytree(full / "song_data", folder / "song_data")
        write_day(folder, config.start_date, event_lines(log_path(full, config.start_date)))
    stage_spark(str(source), schema=raw_schema, state=state, spark=spark)
    return full, source, expected
