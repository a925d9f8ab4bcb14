"""The benchmark harness end to end on a tiny data set, one run, so that it never rots.

The speed and memory targets of BENCHMARKS.md are NOT asserted: figures from a shared test
machine mean little. `make bench` measures sizes S and M for real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.bench import BASELINE_TABLES, SIZES, STEPS, run_bench

pytestmark = pytest.mark.spark


def test_bench_smoke_writes_json_markdown_and_chart(tmp_path: Path) -> None:
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\nprose stays\n\n<!-- bench:smoke:start -->\nold\n"
                        "<!-- bench:smoke:end -->\n\nprose after stays\n", encoding="utf-8")
    results = tmp_path / "results"

    result = run_bench("smoke", "spark", 1, out_dir=results, markdown=markdown,
                       work=tmp_path / "work")

    (json_path,) = results.glob("*-smoke.json")
    saved = json.loads(json_path.read_text(encoding="utf-8"))
    assert saved["summary"] == json.loads(json.dumps(result["summary"]))
    assert saved["size"] == "smoke" and saved["target"] == "spark"
    smoke = SIZES["smoke"]
    assert saved["data"]["log_files"] == smoke.days
    assert 0.8 * smoke.days * smoke.events_per_day < saved["data"]["events"]
    assert saved["data"]["events"] < 1.2 * smoke.days * smoke.events_per_day
    (run,) = saved["runs"]
    for step in STEPS:
        assert run["steps"][step]["seconds"] > 0, step
        assert run["steps"][step]["peak_rss_bytes"] > 0, step
        assert saved["summary"]["steps"][step]["median"] > 0, step
    assert tuple(run["baseline_tables"]) == BASELINE_TABLES
    for build in ("dbt_build", "dbt_build_incremental"):
        nodes = {node["name"]: node for node in run["dbt"][build]["nodes"].values()}
        assert nodes["fct_songplays"]["type"] == "model", build
        assert nodes["fct_songplays"]["seconds"] > 0, build
    assert set(saved["machine"]) >= {"cpu", "logical_cpus", "ram_gib", "os", "python", "java"}
    assert saved["summary"]["full_to_baseline"] > 0
    assert saved["summary"]["events_per_second"]["full"] > 0

    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nprose stays\n")
    assert text.rstrip().endswith("prose after stays")
    assert "\nold\n" not in text and text.count("<!-- bench:smoke:start -->") == 1
    assert "| **full pipeline** (stage + dbt build) |" in text
    assert "| full pipeline / baseline |" in text
    assert "fct_songplays" in text

    (chart,) = results.glob("*-smoke.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"]({chart.relative_to(tmp_path).as_posix()})" in text
