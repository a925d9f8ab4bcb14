"""The benchmark harness end to end on a tiny data set, one run, so that it never rots.

The speed and memory targets of BENCHMARKS.md are NOT asserted: figures from a shared test
machine mean little. `make bench` measures sizes S, M and L for real. The smoke run checks
what the harness does: every step ran, the DuckDB baseline wrote the rows of the project's
marts, and the nothing-new cycles built nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.batch.results import BASELINE_TABLES, BenchResult
from bench.batch.run import run_bench
from bench.batch.sizes import SIZES
from bench.batch.steps import (
    IDLE_STEPS,
    INCREMENTAL_CYCLE,
    NOTHING_NEW_MESSAGE,
    SCOPED_TESTS_MESSAGE,
    STEPS,
)

pytestmark = pytest.mark.spark


def test_bench_smoke_writes_json_markdown_and_chart(tmp_path: Path) -> None:
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\nprose stays\n\n<!-- bench:targets:start -->\nold targets\n"
                        "<!-- bench:targets:end -->\n\n<!-- bench:smoke:start -->\nold\n"
                        "<!-- bench:smoke:end -->\n\nprose after stays\n", encoding="utf-8")
    results = tmp_path / "results"

    work = tmp_path / "work"
    result = run_bench("smoke", "spark", 1, out_dir=results, markdown=markdown, work=work,
                       keep_state=True)

    (json_path,) = results.glob("*-smoke.json")
    saved = json.loads(json_path.read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(result.to_json(), default=str))
    assert BenchResult.from_json(saved) == result
    assert saved["size"] == "smoke" and saved["target"] == "spark"
    smoke = SIZES["smoke"]
    assert saved["data"]["log_files"] == smoke.days
    assert 0.8 * smoke.days * smoke.events_per_day < saved["data"]["events"]
    assert saved["data"]["events"] < 1.2 * smoke.days * smoke.events_per_day
    (run,) = saved["runs"]
    for step in (*STEPS, INCREMENTAL_CYCLE, *IDLE_STEPS):
        assert run["steps"][step]["seconds"] > 0, step
        assert run["steps"][step]["peak_rss_bytes"] > 0, step
        assert saved["summary"]["steps"][step]["median"] > 0, step
    assert tuple(run["baseline_tables"]) == BASELINE_TABLES
    assert tuple(run["duckdb_tables"]) == BASELINE_TABLES

    # the DuckDB baseline wrote its five tables, with the rows of the project's marts
    run_dir = work / "runs" / "spark-1"
    import duckdb

    connection = duckdb.connect()
    for table in BASELINE_TABLES:
        written = (run_dir / "baseline" / "duckdb" / f"{table}.parquet").as_posix()
        row = connection.execute(f"select count(*) from read_parquet('{written}')").fetchone()
        assert row is not None
        assert row[0] == run["counts"][1]["duckdb"][table], table  # the 31-day rerun wrote last
    connection.close()
    assert [check["when"] for check in run["counts"]] == ["full", "plus_day"]
    for check in run["counts"]:
        assert check["project"] == check["duckdb"], check
        assert 0 < check["project"]["matched_plays"] < check["project"]["songplays"], check
    assert (run["counts"][1]["project"]["songplays"]
            > run["counts"][0]["project"]["songplays"])
    assert saved["summary"]["counts_match"] is True

    # nothing new: neither the cold cycle nor the warm process ran dbt build
    assert run["idle"] == {"cold_built": False, "warm_seconds": run["idle"]["warm_seconds"],
                           "warm_built": [False, False]}
    assert len(run["idle"]["warm_seconds"]) == 2
    assert 0 < run["idle"]["warm_seconds"][1] < run["steps"]["idle_warm"]["seconds"]
    for step_log in ("idle_cold.log", "idle_warm.log"):
        text = (run_dir / step_log).read_text(encoding="utf-8")
        assert NOTHING_NEW_MESSAGE in text, step_log
        assert "ingest.run.dbt: dbt build" not in text, step_log
    assert saved["summary"]["idle"]["built"] is False
    # the +1 day arrived as one scheduled cycle, which built it and tested only its day
    cycle_text = (run_dir / f"{INCREMENTAL_CYCLE}.log").read_text(encoding="utf-8")
    assert "ingest.run.dbt: dbt build" in cycle_text
    assert SCOPED_TESTS_MESSAGE in cycle_text
    assert not run["notes"], run["notes"]
    for build in ("dbt_build", INCREMENTAL_CYCLE):
        nodes = {node["name"]: node for node in run["dbt"][build]["nodes"].values()}
        assert nodes["fct_songplays"]["type"] == "model", build
        assert nodes["fct_songplays"]["seconds"] > 0, build
    assert set(saved["machine"]) >= {"cpu", "logical_cpus", "ram_gib", "os", "python", "java"}
    assert saved["summary"]["full_to_baseline"] > 0
    assert saved["summary"]["full_to_duckdb"] > 0
    assert saved["summary"]["events_per_second"]["full"] > 0

    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nprose stays\n")
    assert text.rstrip().endswith("prose after stays")
    assert "\nold\n" not in text and text.count("<!-- bench:smoke:start -->") == 1
    assert "| **full pipeline** (stage + dbt build) |" in text
    assert "| **incremental, +1 day** (one scheduled cycle, `ingest run --once`" in text
    assert "| full pipeline / PySpark baseline |" in text
    assert "| full pipeline / DuckDB baseline |" in text
    assert "| **nothing new, cold** (`ingest run --once`, its own process) |" in text
    assert "the same in every run" in text
    # the targets table across sizes, in place: no S, M or L results here, so nothing measured
    assert "old targets" not in text and text.count("<!-- bench:targets:start -->") == 1
    assert text.index("<!-- bench:targets:end -->") < text.index("<!-- bench:smoke:start -->")
    assert ("| M full run ≤ 3 times the DuckDB baseline (full / DuckDB) | not run | not run |"
            in text)
    assert "fct_songplays" in text

    (chart,) = results.glob("*-smoke.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"]({chart.relative_to(tmp_path).as_posix()})" in text
