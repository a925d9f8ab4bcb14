"""The data-set sizes, and each size's data: generated once, its source folder rebuilt per bench."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.sample.cache import generate_once, marker_path
from ingest.sample.generate import GenerateConfig
from ingest.settings import ProjectSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchSize:
    """One data-set size: `days` of logs for the full run, plus one day for the incremental."""

    name: str
    songs: int
    events_per_day: int
    days: int = 30
    seed: int = 7
    # extra `dbt build` arguments; only the tiny smoke size uses them (no dbt tests)
    dbt_build_args: tuple[str, ...] = ()
    note: str = ""

    def generate_config(self) -> GenerateConfig:
        """What to generate: the full run's days and the incremental run's extra day."""
        return GenerateConfig(songs=self.songs, days=self.days + 1,
                              events_per_day=self.events_per_day, seed=self.seed)


SIZES: dict[str, BenchSize] = {
    "S": BenchSize("S", songs=71, events_per_day=270),
    "M": BenchSize("M", songs=15_000, events_per_day=30_000),
    "L": BenchSize("L", songs=100_000, events_per_day=200_000),
    # internal: tests/bench/test_bench_smoke.py and `make bench-smoke`; models and seed only
    "smoke": BenchSize("smoke", songs=20, events_per_day=100, days=3,
                       dbt_build_args=("--exclude-resource-type", "test", "unit_test"),
                       note="smoke size: dbt build without data tests and unit tests"),
}


@dataclass(frozen=True)
class DataFigures:
    """How big the source is: files, events (the extra day apart) and bytes."""

    song_files: int
    log_files: int
    events: int
    extra_day_events: int
    source_bytes: int


@dataclass(frozen=True)
class Dataset:
    """The generated data of one size and the source folder built from it."""

    data: Path
    source: Path
    extra_day: Path
    figures: DataFigures

    @property
    def incoming(self) -> Path:
        """Where the extra day lands in the source for the incremental run."""
        return self.source / self.extra_day.relative_to(self.data)


def default_work_dir(size: str) -> Path:
    """`<state>/bench/<size>`: the size's data and runs."""
    return StatePaths.of(ProjectSettings.read()).root / "bench" / size


def prepare_data(size: BenchSize, work: Path) -> Dataset:
    """Generate the size once; (re)build the source: songs + the first `days` log files."""
    data = work / "data"
    generate_once(data, size.generate_config(), labels={"size": size.name}, progress=log.debug)
    logs = sorted((data / "log_data").rglob("*.json"))
    songs = sorted((data / "song_data").rglob("*.json"))
    if len(logs) != size.days + 1:
        raise IngestError(f"{data}: expected {size.days + 1} log files, found {len(logs)}: "
                          f"remove {marker_path(data)} to regenerate")
    source = work / "source"
    shutil.rmtree(source, ignore_errors=True)
    folders: set[Path] = set()
    for path in [*songs, *logs[:-1]]:
        target = source / path.relative_to(data)
        if target.parent not in folders:  # 100,000 song files at L, in ~2,000 folders
            target.parent.mkdir(parents=True, exist_ok=True)
            folders.add(target.parent)
        link(path, target, made=True)
    figures = DataFigures(
        song_files=len(songs), log_files=len(logs) - 1,
        events=sum(_count_events(path) for path in logs[:-1]),
        extra_day_events=_count_events(logs[-1]),
        source_bytes=sum(path.stat().st_size for path in [*songs, *logs[:-1]]),
    )
    log.info("size %s: source rebuilt in %s (%d song files, %d log files, %d events)",
             size.name, source, figures.song_files, figures.log_files, figures.events)
    return Dataset(data=data, source=source, extra_day=logs[-1], figures=figures)


def link(path: Path, target: Path, *, made: bool = False) -> None:
    """Hard-link `path` to `target` (a copy across file systems); `made`: its folder exists."""
    if not made:
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(path, target)
    except OSError:
        shutil.copy2(path, target)


def _count_events(path: Path) -> int:
    """Events of a log file: its non-blank lines."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())
