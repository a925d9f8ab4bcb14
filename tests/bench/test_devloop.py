"""bench.devloop: the statement log parser on dbt's own log lines, and the harness end to end
on a tiny sample (cold builds of two nodes, no Thrift Server). No timing is asserted."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import pytest

from bench.common.machine import machine
from bench.devloop.cost import measured
from bench.devloop.nodes import read_statements, statement_counts, statement_kind
from bench.devloop.report import write_json, write_markdown
from bench.devloop.run import run_devloop
from ingest.errors import IngestError
from ingest.sample.generate import GenerateConfig

ESC = "\x1b[0m"
LOG = f"""{ESC}16:16:55.829152 [debug] [Thread-3 (]: On model.sparkify.a: /* {{"app": "dbt"}} */

      describe extended raw.log_data

{ESC}16:16:55.829300 [debug] [Thread-4 (]: On model.sparkify.b: /* {{"app": "dbt"}} */
create or replace view staging.b
  as select 1
{ESC}16:16:55.900000 [debug] [Thread-4 (]: SQL status: OK in 0.071 seconds
{ESC}16:16:55.950000 [debug] [Thread-3 (]: SQL status: OK in 0.121 seconds
{ESC}16:16:55.960000 [debug] [Thread-3 (]: On model.sparkify.a: Close
{ESC}16:16:56.000000 [debug] [ThreadPool]: On list_schemas: show table extended in raw like '*'
{ESC}16:16:56.100000 [debug] [ThreadPool]: SQL status: OK in 0.100 seconds
"""


def test_statements_are_paired_with_their_status_by_thread(tmp_path: Path) -> None:
    log = tmp_path / "dbt.log"
    log.write_text(LOG, encoding="utf-8")

    statements = read_statements(log)

    assert [(s.connection, s.kind, s.seconds) for s in statements] == [
        ("model.sparkify.b", "create view", 0.071),
        ("model.sparkify.a", "describe extended", 0.121),
        ("list_schemas", "show table extended", 0.1),
    ]
    assert statement_counts(statements)["create view"] == 1


@pytest.mark.parametrize(("sql", "kind"), [
    ("-- a comment\ninsert overwrite table x select 1", "insert overwrite"),
    ("create temporary view t as select 1", "create temporary view"),
    ("drop table if exists a.b", "drop table"),
    ("with x as (select 1) select * from x", "with"),
    ("", "(empty)"),
])
def test_statement_kind(sql: str, kind: str) -> None:
    assert statement_kind(sql) == kind


def test_measured_counts_the_cpu_of_the_processes_a_command_starts(tmp_path: Path) -> None:
    # the work happens in a grandchild, as a build's does in its JVM
    child = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'sum(range(10**8))'])"
    log = tmp_path / "steps.log"

    cost = measured([sys.executable, "-c", child], env=dict(os.environ), cwd=tmp_path,
                    log_file=log)

    assert cost.cpu_seconds > 0.5 and cost.wall_seconds > 0
    with pytest.raises(IngestError, match="exit 3"):
        measured([sys.executable, "-c", "print('went wrong'); raise SystemExit(3)"],
                 env=dict(os.environ), cwd=tmp_path, log_file=log)
    assert "went wrong" in log.read_text(encoding="utf-8")


@pytest.mark.spark
@pytest.mark.dbt
def test_devloop_harness_on_a_tiny_sample(tmp_path: Path) -> None:
    sample = GenerateConfig(songs=10, days=2, events_per_day=40, seed=3)
    loop = run_devloop(tmp_path / "work", thrift=False, sample=sample, warm_builds=2,
                       select=("--select", "us_states", "stg_sparkify__songs",
                               "--exclude-resource-type", "test", "unit_test"))

    assert [build.name for build in loop.builds] == ["cold-first", "cold", "warm-first", "warm"]
    assert [build.engine for build in loop.builds[2:]] == ["warm engine"] * 2
    for build in loop.builds:
        kinds_of_nodes = {node.kind: node.name for node in build.nodes.nodes}
        assert kinds_of_nodes["model"] == "stg_sparkify__songs"
        assert kinds_of_nodes["seed"] == "us_states"
        assert "test" not in kinds_of_nodes
        assert all(node.status == "success" for node in build.nodes.nodes)
        assert build.cost.cpu_seconds > 0 and build.cost.wall_seconds > 0
        kinds = statement_counts(build.statements)
        assert kinds["create view"] == 1  # stg_sparkify__songs

    today = dt.date(2026, 12, 6)
    path = write_json(loop, machine(), tmp_path / "out", today)
    assert json.loads(path.read_text(encoding="utf-8"))["builds"][1]["name"] == "cold"
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# B\n\n<!-- bench:devloop:start -->\nstale figures\n"
                        "<!-- bench:devloop:end -->\nafter\n", encoding="utf-8")
    write_markdown(loop, machine(), markdown, today)
    text = markdown.read_text(encoding="utf-8")
    assert "stale figures" not in text and text.endswith("after\n")
    assert "| cold | embedded |" in text and "| warm | warm engine |" in text
    assert "**Warm**" in text and "**Cold**" in text
