"""Several Spark JVMs on one PostgreSQL metastore (SPARKIFY_METASTORE=postgres), at once.

Every command runs in its own process, as a user runs them, on a throwaway metastore
database. Readers run while a scheduled cycle builds; the Thrift Server serves the marts
`make run` built. The marts are compared with the contract's pure-Python answer, which a
serial build gives (tests/run/test_pipeline_e2e.py).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ingest.settings import ThriftSettings
from ingest.spark import thrift_server
from ingest.spark.commands import resolved
from ingest.spark.thrift_sql import ThriftSql
from tests.support.cross_engine import assert_same_marts, export_marts
from tests.support.shared_metastore import (
    HANDWRITTEN_DAYS,
    copy_days,
    expected_marts,
    shared_project,
    tail,
    wait_for_line,
)

pytestmark = [pytest.mark.spark, pytest.mark.postgres]
# logged by the scheduler right before the cycle's `dbt build` (ingest/run/scheduler.py)
BUILD_STARTS = "unit tests and seeds left out"


def test_readers_while_a_scheduled_cycle_builds(tmp_path: Path) -> None:
    """`dbt show` on a mart and an analyst's `dbt build --select +dim_users` (into their own
    schema) run while a `run --every` cycle rebuilds the marts with a new day: all succeed,
    and the cycle's marts and the analyst's mart equal a serial build's."""
    raw = copy_days(tmp_path / "raw", HANDWRITTEN_DAYS[:1])
    with shared_project(tmp_path / "project", "shared") as project:
        project.run("first cycle", project.ingest_command("run", "--once", "--source", str(raw)))
        copy_days(raw, HANDWRITTEN_DAYS[1:])  # +1 day: the next cycle rebuilds it

        cycle, cycle_log = project.start("cycle", project.ingest_command(
            "run", "--every", "1s", "--cycles", "1", "--source", str(raw)))
        try:
            wait_for_line(cycle_log, BUILD_STARTS, cycle)
            show, show_log = project.start("dbt show", project.dbt_command(
                "show", "--inline",
                "select count(*) as plays from {{ ref('fct_songplays') }}"))
            build, build_log = project.start("dbt build", project.dbt_command(
                "build", "--select", "+dim_users", "--indirect-selection", "cautious",
                "--exclude-resource-type", "unit_test"),
                SPARKIFY_SCHEMA="analyst")
            assert cycle.poll() is None, "the readers must start while the cycle builds"
            outcomes = {name: (process.wait(timeout=900), log)
                        for name, process, log in (("dbt show", show, show_log),
                                                   ("dbt build", build, build_log),
                                                   ("cycle", cycle, cycle_log))}
        finally:
            for process in (cycle,):
                if process.poll() is None:
                    process.kill()
        for name, (code, log) in outcomes.items():
            text = log.read_text(errors="replace")
            assert code == 0, f"{name} exited {code}:\n{tail(text)}"
            assert "Failed to start database" not in text
        assert "plays" in show_log.read_text()

        expected = expected_marts(raw)
        assert_same_marts({"serial": expected, "cycle": project.marts()})
        analyst = project.marts("analyst", only=("dim_users",))
        assert analyst["dim_users"] == expected["dim_users"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_thrift_server_serves_what_make_run_built(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run SOURCE=…`, then `spark-server start`: the server answers with the marts that
    run built, in the session's warehouse; nothing is staged through it."""
    raw = copy_days(tmp_path / "raw", HANDWRITTEN_DAYS)
    port = _free_port()
    with shared_project(tmp_path / "project", "served") as project:
        project.run("make run", project.ingest_command("pipeline", "--source", str(raw),
                                                       "--no-docs"))
        for key, value in project.env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SPARKIFY_THRIFT_PORT", str(port))
        state = project.state
        _, setup = resolved()  # what `spark-server start` resolves from these settings
        info = thrift_server.start(port, state, setup, timeout=300)
        try:
            assert info.port == ThriftSettings.read().port == port
            with ThriftSql(ThriftSettings.read().host, port) as session:
                served = export_marts(lambda mart: session.sql(
                    f"select * from served.{mart}").dicts())
                tables = session.sql("show tables in served_raw").collect()
        finally:
            thrift_server.stop(state)
        assert_same_marts({"make run": expected_marts(raw), "thrift": served})
        assert served == project.marts(), "the server reads the session's warehouse"
        assert len(tables) >= 2, "the raw tables the pipeline staged are visible"
        thrift = state.thrift_server
        assert not thrift.warehouse.exists() and not thrift.metastore.exists(), \
            "with the shared metastore the server keeps no catalog of its own"
