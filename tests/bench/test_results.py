"""The typed results read the committed bench/results/*.json back, and render BENCHMARKS.md.

Each latest results file is read into a BenchResult and written out again byte for byte;
its markdown section and the table of targets across sizes come out as BENCHMARKS.md has
them (the harness wrote both from these files). Files from before the DuckDB baseline are
skipped, as the targets table skips them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.batch.goals import latest_figures, targets_section
from bench.batch.report import markdown_section
from bench.batch.results import BenchResult, has_duckdb
from bench.common.markdown import update_markdown
from tests.support.project import PROJECT_DIR

RESULTS = PROJECT_DIR / "bench" / "results"
MARKDOWN = PROJECT_DIR / "BENCHMARKS.md"


def _latest_by_label() -> dict[str, Path]:
    latest: dict[str, Path] = {}
    for path in sorted(RESULTS.glob("????-??-??-*.json")):
        value = json.loads(path.read_text(encoding="utf-8"))
        if has_duckdb(value):
            latest[BenchResult.from_json(value).label] = path
    return latest


def _section(label: str) -> str:
    text = MARKDOWN.read_text(encoding="utf-8")
    start, end = f"<!-- bench:{label}:start -->\n", f"\n<!-- bench:{label}:end -->"
    return text.split(start, 1)[1].split(end, 1)[0]


LATEST = _latest_by_label()


def test_there_are_results_to_check() -> None:
    assert {"S", "M", "L"} <= set(LATEST)


@pytest.mark.parametrize("label", sorted(LATEST))
def test_a_results_file_reads_back_and_writes_the_same_bytes(label: str) -> None:
    text = LATEST[label].read_text(encoding="utf-8")
    result = BenchResult.from_json(json.loads(text))
    assert json.dumps(result.to_json(), indent=2, default=str) + "\n" == text


@pytest.mark.parametrize("label", sorted(LATEST))
def test_the_markdown_section_is_the_one_in_benchmarks_md(label: str) -> None:
    path = LATEST[label]
    result = BenchResult.from_json(json.loads(path.read_text(encoding="utf-8")))
    section = markdown_section(result, path.with_suffix(".png"), MARKDOWN)
    assert section == _section(label)


def test_the_targets_table_is_the_one_in_benchmarks_md() -> None:
    assert targets_section(latest_figures(RESULTS)) == _section("targets")


def test_files_without_the_duckdb_baseline_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "2030-01-01-M.json").write_text('{"size": "M", "summary": {"full": {}}}\n',
                                                encoding="utf-8")
    assert latest_figures(tmp_path) == {}
    assert "Not measured yet." in targets_section({})


def test_update_markdown_replaces_only_its_section(tmp_path: Path) -> None:
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# B\n\n<!-- bench:S:start -->\nold\n<!-- bench:S:end -->\nafter\n",
                        encoding="utf-8")
    update_markdown(markdown, "S", "new")
    update_markdown(markdown, "M", "added")
    assert markdown.read_text(encoding="utf-8") == (
        "# B\n\n<!-- bench:S:start -->\nnew\n<!-- bench:S:end -->\nafter\n\n"
        "<!-- bench:M:start -->\nadded\n<!-- bench:M:end -->\n")


def test_the_chart_of_a_results_file_is_a_png(tmp_path: Path) -> None:
    from bench.batch.chart import write_chart

    result = BenchResult.from_json(json.loads(LATEST["M"].read_text(encoding="utf-8")))
    write_chart(result, tmp_path / "M.png")
    assert (tmp_path / "M.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
