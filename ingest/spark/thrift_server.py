"""A local Spark Thrift Server (HiveServer2 protocol, as on EMR) for the `spark_thrift` dbt target.

`start` runs pip pyspark's `HiveThriftServer2` class through `spark-submit` in its own JVM,
bound to 127.0.0.1, and waits until it answers SQL; `stop` ends that JVM and nothing else;
`status` says what runs. `ThriftSql` (ingest.spark.thrift_sql) gives `stage_spark` a
`.sql()` that goes through the server, so the raw tables land in the server's metastore
(ingest.stage.thrift); ingest.spark.commands is the `spark-server` command.

Design: the server's catalog (warehouse and metastore) follows SPARKIFY_METASTORE.

- `postgres` (docs/metastore.md): the server shares the session's warehouse
  (`<state>/spark/warehouse`) and the PostgreSQL metastore with every other Spark JVM of the
  project, as on a real cluster: it serves the marts `make run` built, with no stage
  through it, while dbt, `run --every` or `stream` run beside it.
- `derby` (default): Derby admits one JVM at a time, so sharing `<state>/spark/metastore_db`
  would make the server and every session-mode `dbt` run, `ingest stage` or sqlfluff dbt
  templater fail each other with `XJ040 Failed to start database` for as long as the server
  runs. The server keeps its own `<state>/spark-thrift/{warehouse,metastore_db}`, like an
  EMR cluster with its own catalog: the raw tables must be staged through the server
  (`ThriftSql`), and the marts it builds live in its own warehouse. The verified landing
  folder (`<state>/landing`) is shared, so staging through the server reads no source
  object again: it only registers the tables.

Its own conf folder (`<state>/spark-thrift/conf`, passed as `SPARK_CONF_DIR` to that JVM
only) holds the settings either way.

The server runs as a session leader (it survives the command that started it). Its pid is
in `<state>/spark-thrift/server.pid` and its output in `server.log`. `stop` signals that pid
only if `/proc/<pid>/cmdline` shows `HiveThriftServer2` and this state's marker
(`-Dsparkify.thrift.state=<folder>`), so a stale pid file never kills another process.
Linux only (it reads `/proc`), like the rest of the project.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.locks import exclusive
from ingest.paths import StatePaths
from ingest.settings import ThriftSettings, declared
from ingest.spark.conf import SparkSetup
from ingest.spark.metastore import ensure_schema
from ingest.spark.processes import (
    cmdline,
    is_alive,
    port_answers,
    start_ticks,
    started_at,
    terminate,
)
from ingest.spark.thrift_files import (
    BIND_HOST,
    LOG_HEADER,
    ServerFiles,
    server_command,
    server_files,
    write_server_conf,
)
from ingest.spark.thrift_sql import ThriftSql

log = logging.getLogger(__name__)

DEFAULT_PORT: int = declared(ThriftSettings, "port")
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
PROGRESS_EVERY = 10.0


def port_number(value: str | int) -> int:
    """A port given on the command line or to `start` (the environment's: ThriftSettings)."""
    try:
        port = int(value)
    except ValueError:
        raise IngestError(f"a port must be a number, not {value!r}") from None
    if not 1 <= port <= 65535:
        raise IngestError(f"port {port} is out of range (1-65535)")
    return port


# --- what runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerInfo:
    """A running server of this state."""

    pid: int
    host: str
    port: int
    started_at: dt.datetime
    folder: Path
    log_file: Path

    @property
    def uptime(self) -> dt.timedelta:
        elapsed = dt.datetime.now(dt.UTC) - self.started_at
        return dt.timedelta(seconds=max(0, round(elapsed.total_seconds())))

    def describe(self) -> str:
        return (f"Spark Thrift Server running: pid {self.pid}, {self.host}:{self.port}, "
                f"up {self.uptime} (since {self.started_at:%Y-%m-%d %H:%M:%S} UTC)\n"
                f"  state: {self.folder}\n  log:   {self.log_file}")


def _is_our_server(pid: int, files: ServerFiles) -> bool:
    joined = " ".join(cmdline(pid))
    return "HiveThriftServer2" in joined and files.marker in joined


def _hiveconf(args: list[str], key: str) -> str | None:
    prefix = f"{key}="
    return next((arg[len(prefix):] for arg in args if arg.startswith(prefix)), None)


def _read_pid(files: ServerFiles) -> int | None:
    try:
        text = files.pid_file.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _info(pid: int, files: ServerFiles) -> ServerInfo:
    args = cmdline(pid)
    port = _hiveconf(args, "hive.server2.thrift.port")
    host = _hiveconf(args, "hive.server2.thrift.bind.host")
    return ServerInfo(pid, host or BIND_HOST, int(port) if port else DEFAULT_PORT,
                      started_at(pid), files.folder, files.log_file)


def _running(files: ServerFiles) -> ServerInfo | None:
    pid = _read_pid(files)
    if pid is None or not is_alive(pid) or not _is_our_server(pid, files):
        return None
    return _info(pid, files)


def status(state: StatePaths) -> ServerInfo | None:
    """The server of this state when it runs, else None."""
    return _running(server_files(state))




def log_tail(files: ServerFiles, lines: int = 25) -> str:
    """The last lines the latest start wrote to the server log."""
    try:
        text = files.log_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    latest = text.rsplit(LOG_HEADER, 1)[-1].splitlines()[1:]
    kept = [line for line in latest if line.strip()][-lines:]
    return "\n".join(f"  | {line}" for line in kept) or "  | (empty)"


# --- start / stop ---------------------------------------------------------------------------------


def start(port: int, state: StatePaths, setup: SparkSetup, *,
          timeout: float = START_TIMEOUT) -> ServerInfo:
    """Start the server on 127.0.0.1:port and wait until it answers SQL; or return the running one.

    IngestError when Java is missing, the port is taken by another process, the JVM exits
    during start-up (with the last lines of its log) or it does not answer within `timeout`.
    """
    files = server_files(state)
    port = port_number(port)
    with exclusive(files.lock_file, "a start or stop of the Thrift Server", wait=True):
        running = _running(files)
        if running is not None:
            if running.port != port:
                log.warning("the Spark Thrift Server of %s already runs on port %d, not %d: "
                            "stop it first to change the port", files.folder, running.port, port)
            log.info("the Spark Thrift Server is already running (pid %d, %s:%d)",
                     running.pid, running.host, running.port)
            return running
        if port_answers(BIND_HOST, port):
            raise IngestError(
                f"port {port} on {BIND_HOST} is already in use by another process: pick "
                "another with --port or SPARKIFY_THRIFT_PORT")
        from ingest.spark.session import java_binary

        java = java_binary(setup.spark.java_home)
        metastore = setup.metastore(files.state)
        if metastore.shared:
            ensure_schema(java, metastore)
        conf = write_server_conf(files, setup)
        process = _launch(files, conf, port)
        try:
            _wait_until_ready(process, files, port, timeout)
            if not _is_our_server(process.pid, files):
                raise IngestError(f"pid {process.pid} answers on port {port} but is not the "
                                  f"expected JVM: {' '.join(cmdline(process.pid))[:300]}")
        except BaseException:  # failed, timed out or interrupted: leave no JVM behind
            if process.poll() is None:  # still our unreaped child, so the pid is still its own
                terminate(process.pid, STOP_TIMEOUT, start_ticks(process.pid))
            files.pid_file.unlink(missing_ok=True)
            raise
        info = _info(process.pid, files)
        log.info("Spark Thrift Server ready on %s:%d (pid %d, %.0f s to start)", info.host,
                 info.port, info.pid, info.uptime.total_seconds())
        return info


def _launch(files: ServerFiles, conf: Path, port: int) -> subprocess.Popen[bytes]:
    command = server_command(port)
    env = {**os.environ, "SPARK_CONF_DIR": str(conf), "TZ": "UTC"}
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    with files.log_file.open("a", encoding="utf-8") as handle:
        handle.write(f"\n{LOG_HEADER} {stamp} UTC, port {port}: {' '.join(command)}\n")
    log.info("starting the Spark Thrift Server on %s:%d (state %s; the JVM takes 20-60 s)",
             BIND_HOST, port, files.folder)
    with files.log_file.open("ab") as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, env=env, cwd=files.folder,
                                   start_new_session=True)
    files.pid_file.write_text(f"{process.pid}\n", encoding="utf-8")
    return process


def _wait_until_ready(process: subprocess.Popen[bytes], files: ServerFiles, port: int,
                      timeout: float) -> None:
    began = time.monotonic()
    next_note = began + PROGRESS_EVERY
    while True:
        code = process.poll()
        if code is not None:
            raise IngestError(
                f"the Spark Thrift Server exited with code {code} while starting; the last "
                f"lines of {files.log_file}:\n{log_tail(files)}")
        if port_answers(BIND_HOST, port) and _answers_sql(port):
            return
        elapsed = time.monotonic() - began
        if elapsed > timeout:
            raise IngestError(
                f"the Spark Thrift Server (pid {process.pid}) did not answer on "
                f"{BIND_HOST}:{port} within {timeout:.0f} s, so it was stopped; the last "
                f"lines of {files.log_file}:\n{log_tail(files)}")
        if time.monotonic() >= next_note:
            log.info("waiting for the Spark Thrift Server (pid %d) on %s:%d: %.0f s",
                     process.pid, BIND_HOST, port, elapsed)
            next_note += PROGRESS_EVERY
        time.sleep(1.0)


def _answers_sql(port: int) -> bool:
    """A real HiveServer2 session: `select 1`, and the metastore answers `show databases`."""
    try:
        with ThriftSql(BIND_HOST, port) as session:
            answered = session.sql("select 1").collect() == [(1,)]
            session.sql("show databases").collect()
            return answered
    except Exception as exc:  # not ready yet: thrift, SASL and socket errors alike
        log.debug("not ready on port %d: %s", port, exc)
        return False


def stop(state: StatePaths, *, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the server this state started; True when one was stopped.

    Only a pid whose command line shows HiveThriftServer2 and this state's marker is
    signalled. Anything else (nothing running, a stale or foreign pid file) returns False,
    says so, and removes the stale pid file, leaving that process alone.
    """
    files = server_files(state)
    with exclusive(files.lock_file, "a start or stop of the Thrift Server", wait=True):
        pid = _read_pid(files)
        if pid is None:
            log.info("no Spark Thrift Server is running for %s", files.folder)
            return False
        identity = start_ticks(pid)  # taken before the checks, verified at each signal
        if not is_alive(pid):
            log.info("the Spark Thrift Server is not running (pid %d is gone): removed the "
                     "stale pid file", pid)
            files.pid_file.unlink(missing_ok=True)
            return False
        if not _is_our_server(pid, files):
            shown = " ".join(cmdline(pid))[:120] or "?"
            log.warning("pid %d is not the Spark Thrift Server of %s (it runs: %s): left it "
                        "alone and removed the stale pid file", pid, files.folder, shown)
            files.pid_file.unlink(missing_ok=True)
            return False
        info = _info(pid, files)
        log.info("stopping the Spark Thrift Server (pid %d, %s:%d, up %s)", pid, info.host,
                 info.port, info.uptime)
        terminate(pid, timeout, identity)
        files.pid_file.unlink(missing_ok=True)
        log.info("stopped the Spark Thrift Server (pid %d)", pid)
        return True
