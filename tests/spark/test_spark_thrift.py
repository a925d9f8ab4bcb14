"""The local Spark Thrift Server and the `spark_thrift` dbt target, end to end.

The server is its own JVM (not the session-mode `spark` fixture's), on a free port, with its
state in tmp_path: stage the hand-written fixture through it, `dbt build --target
spark_thrift`, and the marts read back over HiveServer2 equal the pure-Python reference.
The other tests need no JVM: what `stop` must leave alone, a taken port, a JVM that dies.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.run.dbt import run_dbt, summarize_build
from ingest.settings import ProjectSettings, ThriftSettings
from ingest.spark import commands as spark_commands
from ingest.spark import thrift_server as spark_server
from ingest.spark.processes import is_alive, port_answers
from ingest.spark.thrift_files import MAIN_CLASS, server_files
from ingest.spark.thrift_sql import ThriftSql
from tests.support.cross_engine import MARTS, Export, assert_same_marts, export_marts
from tests.support.expected_marts import build_expected_marts
from tests.support.project import FIXTURES, PROJECT_DIR, spark_setup
from tests.support.staging import stage_spark

pytestmark = pytest.mark.spark
US_STATES = PROJECT_DIR / "seeds" / "us_states.csv"
SCHEMA, RAW_SCHEMA = "thrift", "thrift_raw"
START_TIMEOUT = 240.0  # 2 cores, maybe shared with other test JVMs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StatePaths:
    """A fresh state folder, port and schemas, set the way a user would (environment)."""
    port = _free_port()
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SPARKIFY_THRIFT_HOST", "127.0.0.1")
    monkeypatch.setenv("SPARKIFY_THRIFT_PORT", str(port))
    monkeypatch.setenv("SPARKIFY_SCHEMA", SCHEMA)
    monkeypatch.setenv("SPARKIFY_RAW_SCHEMA", RAW_SCHEMA)
    return StatePaths.of(ProjectSettings.read())


@contextlib.contextmanager
def _sleeper(*extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """A process that is not a Thrift Server of ours; `extra` lands in its command line."""
    code = "import time; time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", code, *extra])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _session_marts(spark: Any, session_state: Path, target: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Export:
    """The same fixture built by the embedded (session-mode) Spark, in its own metastore."""
    monkeypatch.setenv("SPARKIFY_SCHEMA", "session_cmp")
    monkeypatch.setenv("SPARKIFY_RAW_SCHEMA", "session_cmp_raw")
    try:
        stage_spark(str(FIXTURES / "raw_handwritten"), schema="session_cmp_raw",
                    state=StatePaths(session_state), spark=spark)
        for command in ("seed", "run"):
            run_dbt(PROJECT_DIR, [command, "--target-path", str(target)], "spark")
    finally:
        monkeypatch.setenv("SPARKIFY_SCHEMA", SCHEMA)
        monkeypatch.setenv("SPARKIFY_RAW_SCHEMA", RAW_SCHEMA)
    return export_marts(lambda mart: [
        row.asDict() for row in spark.sql(f"select * from session_cmp.{mart}").collect()])


def test_dbt_build_through_the_thrift_server(state: StatePaths, tmp_path: Path, spark: Any,
                                             session_state: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    port = ThriftSettings.read().port
    began = time.monotonic()
    info = spark_server.start(port, state, spark_setup(), timeout=START_TIMEOUT)
    try:
        assert (info.port, info.host) == (port, "127.0.0.1")
        assert is_alive(info.pid) and port_answers("127.0.0.1", port)
        print(f"server started in {time.monotonic() - began:.0f} s")
        again = spark_server.start(port, state, spark_setup())
        assert again.pid == info.pid, "a second start reuses it"
        running = spark_server.status(state)
        assert running is not None and running.pid == info.pid

        with ThriftSql(port=port) as session:
            staged = stage_spark(str(FIXTURES / "raw_handwritten"), schema=RAW_SCHEMA,
                                 state=state, spark=session)
        assert (staged.rows("song_data"), staged.rows("log_data")) == (8, 16)

        target = ["--target-path", str(tmp_path / "target")]
        build = summarize_build(run_dbt(PROJECT_DIR, ["build", *target], "spark_thrift"))
        assert build.tests_failed == 0 and build.models >= 10, build

        # The profile's `set:hiveconf:` parameters reach the session: UTC, ANSI off
        # (with ANSI on, Spark 4's default, the bad cast would fail the query).
        shown = run_dbt(PROJECT_DIR, [
            "show", *target, "--inline",
            "select current_timezone() as tz, cast('not a number' as int) as lenient_cast",
        ], "spark_thrift")
        assert [tuple(row) for row in shown.results[0].agate_table.rows] == [("UTC", None)]

        with ThriftSql(port=port) as session:
            thrift = export_marts(
                lambda mart: session.sql(f"select * from {SCHEMA}.{mart}").dicts())
        expected = build_expected_marts(FIXTURES / "raw_handwritten", US_STATES)
        assert all(thrift[mart] for mart in MARTS)
        session = _session_marts(spark, session_state, tmp_path / "session", monkeypatch)
        assert_same_marts({"reference": export_marts(lambda mart: expected[mart]),
                           "spark_thrift": thrift, "spark (session)": session})
        # The server's tables live in its own warehouse, not in the embedded Spark's.
        assert (state.thrift_server.warehouse / f"{SCHEMA}.db" / "fct_songplays").is_dir()
        assert not state.warehouse.exists()
    finally:
        stopped = spark_server.stop(state)
    assert stopped
    assert not is_alive(info.pid)
    assert not port_answers("127.0.0.1", port)
    assert spark_server.status(state) is None
    assert not server_files(state).pid_file.exists()
    assert spark_server.stop(state) is False, "nothing left to stop"


@pytest.mark.parametrize("extra", [(), (MAIN_CLASS,)],
                         ids=["sleep", "other-thrift-server"])
def test_stop_leaves_a_foreign_process_alone(
    state: StatePaths, extra: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    """A stale pid file pointing at another process (even another HiveThriftServer2)."""
    files = server_files(state)
    files.folder.mkdir(parents=True)
    with _sleeper(*extra) as foreign:
        files.pid_file.write_text(f"{foreign.pid}\n", encoding="utf-8")
        assert spark_server.status(state) is None
        with caplog.at_level(logging.INFO, logger="ingest.spark.thrift_server"):
            assert spark_server.stop(state, timeout=2) is False
        time.sleep(0.5)
        assert foreign.poll() is None and is_alive(foreign.pid), "stop killed a foreign process"
        assert f"pid {foreign.pid} is not the Spark Thrift Server" in caplog.text
        assert not files.pid_file.exists(), "the stale pid file is removed"


def test_stop_kills_a_server_that_ignores_sigterm(
    state: StatePaths, caplog: pytest.LogCaptureFixture
) -> None:
    """A stand-in with this state's command line that ignores SIGTERM gets SIGKILL."""
    files = server_files(state)
    files.folder.mkdir(parents=True)
    code = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)")
    stubborn = subprocess.Popen([sys.executable, "-c", code, MAIN_CLASS,
                                 files.marker], stdout=subprocess.PIPE)
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline() == b"ready\n"
        files.pid_file.write_text(f"{stubborn.pid}\n", encoding="utf-8")
        assert spark_server.status(state) is not None
        with caplog.at_level(logging.INFO, logger="ingest.spark.thrift_server"):
            assert spark_server.stop(state, timeout=1) is True
        assert not is_alive(stubborn.pid)  # stop reaped it: SIGKILL's status went there
        assert "sending SIGKILL" in caplog.text
    finally:
        stubborn.kill()
        stubborn.wait()


def test_start_refuses_a_port_in_use(state: StatePaths) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = int(holder.getsockname()[1])
        with pytest.raises(IngestError, match=f"port {port} .* already in use"):
            spark_server.start(port, state, spark_setup(), timeout=5)
    assert not server_files(state).pid_file.exists()


def test_start_reports_a_server_that_dies(state: StatePaths,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The JVM's own failure (here: a stand-in that exits) comes with the log's last lines."""
    def failing_command(port: int, host: str = "127.0.0.1") -> list[str]:
        return ["bash", "-c", f"echo 'java.net.BindException: port {port} boom' >&2; exit 3"]

    monkeypatch.setattr(spark_server, "server_command", failing_command)
    with pytest.raises(IngestError, match=r"exited with code 3(.|\n)*BindException"):
        spark_server.start(_free_port(), state, spark_setup(), timeout=30)
    assert not server_files(state).pid_file.exists()


def test_command_line(state: StatePaths, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    def parse(*argv: str) -> argparse.Namespace:
        parser = argparse.ArgumentParser(prog="python -m ingest")
        spark_commands.add_commands(parser.add_subparsers(dest="command"))
        return parser.parse_args(argv)

    monkeypatch.setenv("SPARKIFY_THRIFT_PORT", "12001")
    assert parse("spark-server", "start").port == 12001
    assert parse("spark-server", "stop", "--port", "12002").port == 12002
    monkeypatch.delenv("SPARKIFY_THRIFT_PORT")
    assert parse("spark-server", "status").port == 10000
    with pytest.raises(SystemExit):
        parse("spark-server", "restart")
    with pytest.raises(SystemExit):
        parse("spark-server", "start", "--port", "70000")

    args: Any = parse("spark-server", "status")
    assert args.handler(args) == 3
    assert "not running" in capsys.readouterr().out
    args = parse("spark-server", "stop")
    assert args.handler(args) == 0
