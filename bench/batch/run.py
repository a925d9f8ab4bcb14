"""One bench of a size on a target: prepare the data, run it, write the JSON, chart, markdown.

One bench at a time per size folder (ingest.locks): two would rebuild each other's source.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import replace
from pathlib import Path

from bench.batch.chart import write_chart
from bench.batch.goals import latest_figures, targets_section
from bench.batch.report import markdown_section
from bench.batch.results import BenchResult, RunResult
from bench.batch.runner import run_once
from bench.batch.sizes import SIZES, default_work_dir, prepare_data
from bench.batch.steps import TARGETS
from bench.batch.summary import summarize
from bench.batch.targets import check_target
from bench.common.machine import load_average, machine
from bench.common.markdown import update_markdown
from bench.common.memory import GIB
from ingest.errors import IngestError
from ingest.locks import holder, try_lock

log = logging.getLogger(__name__)


def run_bench(size_name: str, target: str = "spark", runs: int = 1, *, out_dir: Path,
              markdown: Path, work: Path | None = None,
              keep_state: bool = False) -> BenchResult:
    """Prepare the size, run it `runs` times, write the JSON, the chart and the markdown."""
    if size_name not in SIZES:
        raise IngestError(f"unknown size {size_name!r}: use one of {', '.join(SIZES)}")
    if target not in TARGETS:
        raise IngestError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    if runs < 1:
        raise IngestError("--runs must be at least 1")
    size = SIZES[size_name]
    work = work or default_work_dir(size_name)
    check_target(target)
    lock = work / ".lock"
    with try_lock(lock, f"python -m bench --size {size_name} --target {target}") as acquired:
        if not acquired:
            raise IngestError(f"another bench is running on {work} ({holder(lock)})")
        host = machine()
        started = dt.datetime.now(dt.UTC)
        data = prepare_data(size, work)
        figures = data.figures
        log.info("bench %s on %s: %s song files, %s events in %d days (+%s on day %d), "
                 "%d run(s)", size.name, target, f"{figures.song_files:,}",
                 f"{figures.events:,}", size.days, f"{figures.extra_day_events:,}",
                 size.days + 1, runs)
        results: list[RunResult] = []
        for number in range(1, runs + 1):
            log.info("run %d of %d", number, runs)
            results.append(run_once(size, data, target, work / "runs" / f"{target}-{number}",
                                    keep_state))
    result = BenchResult(
        size=size.name, target=target, date=started.date().isoformat(),
        started_at=started.isoformat(timespec="seconds"),
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        config=size, generate=size.generate_config(), data=figures,
        machine=replace(host, load_average_at_end=load_average()), runs=tuple(results),
        summary=summarize(results, figures),
    )
    json_path, chart = write_outputs(result, out_dir, markdown)
    if target == "spark":
        update_markdown(markdown, "targets", targets_section(latest_figures(out_dir)))
    summary = result.summary
    log.info("bench %s on %s: full pipeline %.1f s; PySpark baseline %.1f s (ratio %.2f), "
             "DuckDB baseline %.1f s (ratio %.2f); incremental %.1f s (%.0f%% of full), "
             "peak %.2f GiB; wrote %s, %s and %s",
             size.name, target, summary.full.median, summary.baseline.median,
             summary.full_to_baseline, summary.duckdb.median, summary.full_to_duckdb,
             summary.incremental.median, 100 * summary.incremental_to_full,
             summary.peak_rss_pipeline_bytes / GIB, json_path, chart, markdown)
    return result


def write_outputs(result: BenchResult, out_dir: Path, markdown: Path) -> tuple[Path, Path]:
    """`<out>/<date>-<label>.json` and `.png`, and the result's section of `markdown`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{result.date}-{result.label}"
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(result.to_json(), indent=2, default=str) + "\n",
                         encoding="utf-8")
    chart = out_dir / f"{stem}.png"
    write_chart(result, chart)
    update_markdown(markdown, result.label, markdown_section(result, chart, markdown))
    return json_path, chart
