"""The bench's results as frozen dataclasses, and their JSON form (bench/results/*.json).

`BenchResult.to_json` gives the JSON shape the harness has always written, and
`BenchResult.from_json` reads it back (files written before the DuckDB baseline and the
nothing-new steps lack fields: `has_duckdb` says whether a file can be read).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.batch.sizes import BenchSize, DataFigures
from bench.common.machine import Machine
from ingest.sample.generate import GenerateConfig

BASELINE_TABLES = ("artists", "songplays", "songs", "time", "users")
COUNTED = (*BASELINE_TABLES, "matched_plays")


@dataclass(frozen=True)
class Stats:
    """Median, min and max of one figure over the runs."""

    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        return cls(statistics.median(values), min(values), max(values))


@dataclass(frozen=True)
class StepResult:
    """One step of one run: its wall time and the peak RSS of its process tree."""

    seconds: float
    peak_rss_bytes: int


@dataclass(frozen=True)
class RowCounts:
    """Rows of the five tables and the plays matched to a song."""

    artists: int
    songplays: int
    songs: int
    time: int
    users: int
    matched_plays: int

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RowCounts:
        return cls(**{name: int(values[name]) for name in COUNTED})


@dataclass(frozen=True)
class CountCheck:
    """The project's marts against the DuckDB baseline on the same days."""

    when: str
    project: RowCounts
    duckdb: RowCounts

    @property
    def same(self) -> bool:
        return self.project == self.duckdb


@dataclass(frozen=True)
class IdleCycles:
    """Nothing new: whether the cold cycle built, and the warm process's cycles."""

    cold_built: bool
    warm_seconds: tuple[float, ...]
    warm_built: tuple[bool, ...]

    @property
    def warm(self) -> float:
        """The last idle cycle of the one scheduler process, timed in-process."""
        return self.warm_seconds[-1]


@dataclass(frozen=True)
class DbtNode:
    """One node of a dbt build's run_results.json."""

    type: str
    name: str
    status: str
    seconds: float


@dataclass(frozen=True)
class DbtRun:
    """A dbt build: its run phase's elapsed seconds and its nodes by unique id."""

    elapsed_seconds: float
    nodes: Mapping[str, DbtNode]


@dataclass(frozen=True)
class RunResult:
    """One run of every step, from a fresh state."""

    steps: Mapping[str, StepResult]
    dbt: Mapping[str, DbtRun]
    baseline_tables: tuple[str, ...]
    duckdb_tables: tuple[str, ...]
    counts: tuple[CountCheck, ...]
    idle: IdleCycles | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class BuildSummary:
    """One dbt build over the runs: models and seeds, test sums, the time outside the run."""

    nodes: Mapping[str, Stats]
    tests: Stats
    unit_tests: Stats
    counts: Mapping[str, int]
    outside_run: Stats
    run_phase: Stats


@dataclass(frozen=True)
class IdleSummary:
    """The nothing-new cycles over the runs, and whether any of them built."""

    cold: Stats
    warm: Stats
    built: bool


@dataclass(frozen=True)
class Throughput:
    """Events per second (medians)."""

    full: float
    baseline: float
    duckdb: float
    incremental: float


@dataclass(frozen=True)
class Summary:
    """Every step and dbt node over the runs; totals, ratios, memory, throughput."""

    steps: Mapping[str, Stats]
    peak_rss_bytes: Mapping[str, int]
    full: Stats
    incremental: Stats
    baseline: Stats
    duckdb: Stats
    full_to_baseline: float
    full_to_duckdb: float
    incremental_to_full: float
    idle: IdleSummary | None
    counts_match: bool
    peak_rss_pipeline_bytes: int
    events: int
    extra_day_events: int
    events_per_second: Throughput
    dbt: Mapping[str, BuildSummary]


@dataclass(frozen=True)
class BenchResult:
    """One bench of one size on one target: what ran where, every run, and the summary."""

    size: str
    target: str
    date: str
    started_at: str
    finished_at: str
    config: BenchSize
    generate: GenerateConfig
    data: DataFigures
    machine: Machine
    runs: tuple[RunResult, ...]
    summary: Summary

    @property
    def label(self) -> str:
        """`M` for the spark target, `M-postgres` for others: file names, markdown markers."""
        return self.size if self.target == "spark" else f"{self.size}-{self.target}"

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of bench/results/*.json (the generate config inside `config`)."""
        value = asdict(self)
        value["config"]["generate"] = value.pop("generate")
        return value

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> BenchResult:
        """Read a result the harness wrote (see `has_duckdb` for which files can be read)."""
        config = dict(value["config"])
        generate = dict(config.pop("generate"))
        generate["start_date"] = dt.date.fromisoformat(str(generate["start_date"]))
        config["dbt_build_args"] = tuple(config["dbt_build_args"])
        return cls(
            size=str(value["size"]), target=str(value["target"]), date=str(value["date"]),
            started_at=str(value["started_at"]), finished_at=str(value["finished_at"]),
            config=BenchSize(**config), generate=GenerateConfig(**generate),
            data=DataFigures(**value["data"]), machine=_machine(value["machine"]),
            runs=tuple(_run(run) for run in value["runs"]),
            summary=_summary(value["summary"]),
        )


def has_duckdb(value: Mapping[str, Any]) -> bool:
    """Whether a results file has the DuckDB baseline (written by this harness or later)."""
    return "duckdb" in value.get("summary", {})


def _stats(value: Mapping[str, Any]) -> Stats:
    return Stats(float(value["median"]), float(value["min"]), float(value["max"]))


def _machine(value: Mapping[str, Any]) -> Machine:
    loads = {name: tuple(value.get(name, ()))
             for name in ("load_average_at_start", "load_average_at_end")}
    return Machine(**{**value, **loads})


def _run(value: Mapping[str, Any]) -> RunResult:
    idle = value.get("idle")
    return RunResult(
        steps={name: StepResult(**step) for name, step in value["steps"].items()},
        dbt={name: DbtRun(float(build["elapsed_seconds"]),
                          {key: DbtNode(**node) for key, node in build["nodes"].items()})
             for name, build in value["dbt"].items()},
        baseline_tables=tuple(value["baseline_tables"]),
        duckdb_tables=tuple(value.get("duckdb_tables", ())),
        counts=tuple(CountCheck(item["when"], RowCounts.from_mapping(item["project"]),
                                RowCounts.from_mapping(item["duckdb"]))
                     for item in value.get("counts", ())),
        idle=None if idle is None else IdleCycles(
            bool(idle["cold_built"]), tuple(idle["warm_seconds"]), tuple(idle["warm_built"])),
        notes=tuple(value.get("notes", ())),
    )


def _summary(value: Mapping[str, Any]) -> Summary:
    idle = value.get("idle")
    return Summary(
        steps={name: _stats(item) for name, item in value["steps"].items()},
        peak_rss_bytes=dict(value["peak_rss_bytes"]),
        full=_stats(value["full"]), incremental=_stats(value["incremental"]),
        baseline=_stats(value["baseline"]), duckdb=_stats(value["duckdb"]),
        full_to_baseline=float(value["full_to_baseline"]),
        full_to_duckdb=float(value["full_to_duckdb"]),
        incremental_to_full=float(value["incremental_to_full"]),
        idle=None if idle is None else IdleSummary(
            _stats(idle["cold"]), _stats(idle["warm"]), bool(idle["built"])),
        counts_match=bool(value["counts_match"]),
        peak_rss_pipeline_bytes=int(value["peak_rss_pipeline_bytes"]),
        events=int(value["events"]), extra_day_events=int(value["extra_day_events"]),
        events_per_second=Throughput(**value["events_per_second"]),
        dbt={name: BuildSummary(
            nodes={node: _stats(item) for node, item in build["nodes"].items()},
            tests=_stats(build["tests"]), unit_tests=_stats(build["unit_tests"]),
            counts=dict(build["counts"]), outside_run=_stats(build["outside_run"]),
            run_phase=_stats(build["run_phase"]),
        ) for name, build in value["dbt"].items()},
    )
