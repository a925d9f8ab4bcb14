"""A local Spark Thrift Server (HiveServer2 protocol, as on EMR) for the `spark_thrift` dbt target.

`start` runs pip pyspark's `HiveThriftServer2` class through `spark-submit` in its own JVM,
bound to 127.0.0.1, and waits until it answers SQL; `stop` ends that JVM and nothing else;
`status` says what runs. `ThriftSql` gives `stage_spark` a `.sql()` that goes through the
server, so the raw tables land in the server's metastore.

Design: the server has its OWN state, `<state>/spark-thrift/{conf,warehouse,metastore_db}`,
next to the embedded Spark's `<state>/spark/`, and its own Spark conf folder (passed as
`SPARK_CONF_DIR` to that JVM only).

- Derby, the embedded metastore, admits one JVM at a time. Sharing `<state>/spark/metastore_db`
  would make the server and every session-mode `dbt` run, `ingest stage` or sqlfluff dbt
  templater fail each other with `XJ040 Failed to start database` for as long as the server
  runs. With a separate Derby both can run at the same time.
- A Postgres-backed metastore would let both JVMs share one catalog, as a real cluster does.
  It was rejected for the local server. It needs a running PostgreSQL, and the embedded path
  needs nothing but Java. pip pyspark ships no Hive `schematool` and no metastore DDL. Letting
  DataNucleus create the schema (`datanucleus.schema.autoCreateAll`) HUNG against Postgres:
  its `ALTER TABLE … ADD CONSTRAINT` waited on the same JVM's open transaction (tried
  while building this module, on PostgreSQL 15 and pyspark 4.3). So the project would have
  to ship and upgrade the Hive 2.3 metastore DDL itself.
- A separate catalog also behaves like EMR, whose cluster has a metastore and warehouse of
  its own. The price: the raw tables must be staged through the server (`ThriftSql`), and
  the marts it builds live in `<state>/spark-thrift/warehouse`, not in the embedded
  warehouse. The verified landing folder (`<state>/landing`) is shared, so staging through
  the server reads no source object again: it only registers the tables.

The server runs as a session leader (it survives the command that started it). Its pid is
in `<state>/spark-thrift/server.pid` and its output in `server.log`. `stop` signals that pid
only if `/proc/<pid>/cmdline` shows `HiveThriftServer2` and this state's marker
(`-Dsparkify.thrift.state=<folder>`), so a stale pid file never kills another process.
Linux only (it reads `/proc`), like the rest of the project.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import getpass
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.spark.conf import LOG4J2, hive_site, spark_defaults

if TYPE_CHECKING:
    from ingest.stage.core import StageOptions
    from ingest.stage.spark import Location, StageResult

log = logging.getLogger(__name__)
if logging.getLogger("pyhive").level == logging.NOTSET:  # it logs every statement at INFO
    logging.getLogger("pyhive").setLevel(logging.WARNING)

MAIN_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
BIND_HOST = "127.0.0.1"
DEFAULT_PORT = 10000
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
PROGRESS_EVERY = 10.0
STATE_MARKER = "-Dsparkify.thrift.state="
# What the `spark_thrift` profile sends too: HiveServer2 applies only `set:hiveconf:` keys.
SESSION_SETTINGS: Mapping[str, str] = {
    "set:hiveconf:spark.sql.session.timeZone": "UTC",
    "set:hiveconf:spark.sql.ansi.enabled": "false",
}
ACTIONS = ("start", "stop", "status")
LOG_HEADER = "=== sparkify spark-server start"


def default_port() -> int:
    """SPARKIFY_THRIFT_PORT, else 10000."""
    value = os.environ.get("SPARKIFY_THRIFT_PORT", "").strip()
    return _port_number(value) if value else DEFAULT_PORT


def default_host() -> str:
    return os.environ.get("SPARKIFY_THRIFT_HOST", BIND_HOST)


def _port_number(value: str | int) -> int:
    try:
        port = int(value)
    except ValueError:
        raise IngestError(f"a port must be a number, not {value!r}") from None
    if not 1 <= port <= 65535:
        raise IngestError(f"port {port} is out of range (1-65535)")
    return port


# --- where the server keeps its files --------------------------------------------------------


@dataclass(frozen=True)
class ServerFiles:
    """The server's folder: its Spark conf, warehouse, metastore, pid, log and lock."""

    state: StatePaths

    @property
    def folder(self) -> Path:
        return self.state.spark

    @property
    def conf(self) -> Path:
        return self.folder / "conf"

    @property
    def pid_file(self) -> Path:
        return self.folder / "server.pid"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    @property
    def lock_file(self) -> Path:
        return self.folder / "server.lock"

    @property
    def marker(self) -> str:
        return f"{STATE_MARKER}{self.folder}"


def server_files(state: StatePaths | None = None) -> ServerFiles:
    return ServerFiles((state or StatePaths.default()).thrift_server)


def server_settings(files: ServerFiles) -> dict[str, str]:
    """The project's Spark settings, pointed at the server's own warehouse and metastore."""
    settings = spark_defaults(files.state)
    settings["spark.app.name"] = "sparkify-thrift"
    settings["spark.driver.extraJavaOptions"] += f" {files.marker}"
    settings["spark.sql.session.timeZone"] = "UTC"
    return settings


def write_server_conf(files: ServerFiles) -> Path:
    """spark-defaults.conf, hive-site.xml and a quiet log4j2.properties for the server's JVM."""
    files.conf.mkdir(parents=True, exist_ok=True)
    files.state.warehouse.mkdir(parents=True, exist_ok=True)
    header = ("# Written by ingest.spark.thrift_server for the local Spark Thrift Server's "
              "own state.\n")
    defaults = "".join(f"{key} {value}\n" for key, value in server_settings(files).items())
    (files.conf / "spark-defaults.conf").write_text(header + defaults, encoding="utf-8")
    (files.conf / "hive-site.xml").write_text(hive_site(files.state), encoding="utf-8")
    (files.conf / "log4j2.properties").write_text(LOG4J2, encoding="utf-8")
    return files.conf


def server_command(port: int, host: str = BIND_HOST) -> list[str]:
    from pyspark.find_spark_home import _find_spark_home

    submit = Path(_find_spark_home()) / "bin" / "spark-submit"
    if not submit.is_file():
        raise IngestError(f"{submit} is missing: reinstall pyspark (make setup)")
    return [str(submit), "--class", MAIN_CLASS,
            "--hiveconf", f"hive.server2.thrift.bind.host={host}",
            "--hiveconf", f"hive.server2.thrift.port={port}",
            "spark-internal"]


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


def _cmdline(pid: int) -> list[str]:
    """The process's arguments; empty when it is gone (or a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _stat_fields(pid: int, task: int | None = None) -> list[str]:
    """/proc/<pid>/stat after the command name: [state, ppid, …] (field 3 onwards)."""
    where = f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat"
    try:
        text = Path(where).read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    return text.rsplit(")", 1)[-1].split()


def is_alive(pid: int) -> bool:
    """True while any thread of the process runs (our own exited child is reaped first).

    Not just the main thread: a JVM shutting down can leave its first thread a zombie
    while the others still run (and hold the port).
    """
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        tasks = [int(entry.name) for entry in Path(f"/proc/{pid}/task").iterdir()]
    except (OSError, ValueError):
        return False
    states = (_stat_fields(pid, task)[:1] for task in tasks)
    return any(state and state[0] not in {"Z", "X", "x"} for state in states)


def _start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot): with the pid, its identity."""
    fields = _stat_fields(pid)
    return int(fields[19]) if len(fields) > 19 else None


def _is_our_server(pid: int, files: ServerFiles) -> bool:
    joined = " ".join(_cmdline(pid))
    return "HiveThriftServer2" in joined and files.marker in joined


def _started_at(pid: int) -> dt.datetime:
    boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime "))
    ticks = _start_ticks(pid) or 0
    return dt.datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), dt.UTC)


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
    args = _cmdline(pid)
    port = _hiveconf(args, "hive.server2.thrift.port")
    host = _hiveconf(args, "hive.server2.thrift.bind.host")
    return ServerInfo(pid, host or BIND_HOST, int(port) if port else DEFAULT_PORT,
                      _started_at(pid), files.folder, files.log_file)


def _running(files: ServerFiles) -> ServerInfo | None:
    pid = _read_pid(files)
    if pid is None or not is_alive(pid) or not _is_our_server(pid, files):
        return None
    return _info(pid, files)


def status(state: StatePaths | None = None) -> ServerInfo | None:
    """The server of this state when it runs, else None."""
    return _running(server_files(state))


def port_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _locked(files: ServerFiles) -> Iterator[None]:
    """One start or stop at a time per state folder."""
    files.folder.mkdir(parents=True, exist_ok=True)
    with files.lock_file.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def start(port: int | None = None, state: StatePaths | None = None, *,
          timeout: float = START_TIMEOUT) -> ServerInfo:
    """Start the server on 127.0.0.1:port and wait until it answers SQL; or return the running one.

    IngestError when Java is missing, the port is taken by another process, the JVM exits
    during start-up (with the last lines of its log) or it does not answer within `timeout`.
    """
    files = server_files(state)
    port = default_port() if port is None else _port_number(port)
    with _locked(files):
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

        java_binary()
        conf = write_server_conf(files)
        process = _launch(files, conf, port)
        try:
            _wait_until_ready(process, files, port, timeout)
            if not _is_our_server(process.pid, files):
                raise IngestError(f"pid {process.pid} answers on port {port} but is not the "
                                  f"expected JVM: {' '.join(_cmdline(process.pid))[:300]}")
        except BaseException:  # failed, timed out or interrupted: leave no JVM behind
            if process.poll() is None:  # still our unreaped child, so the pid is still its own
                _terminate(process.pid, STOP_TIMEOUT, _start_ticks(process.pid))
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


def _terminate(pid: int, timeout: float, identity: int | None) -> None:
    """SIGTERM, then SIGKILL after `timeout`, to the process the caller identified.

    `identity` is the pid's start time when the caller checked it. It is checked again
    before each signal, so a pid reused by another process meanwhile is never signalled.
    """
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        if not is_alive(pid) or _start_ticks(pid) != identity:
            return
        if sig == signal.SIGKILL:
            log.warning("pid %d did not stop within %.0f s of SIGTERM: sending SIGKILL",
                        pid, timeout)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not is_alive(pid):
                return
            time.sleep(0.2)
    if is_alive(pid):
        raise IngestError(f"pid {pid} is still alive after SIGKILL")


def stop(state: StatePaths | None = None, *, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the server this state started; True when one was stopped.

    Only a pid whose command line shows HiveThriftServer2 and this state's marker is
    signalled. Anything else (nothing running, a stale or foreign pid file) returns False,
    says so, and removes the stale pid file, leaving that process alone.
    """
    files = server_files(state)
    with _locked(files):
        pid = _read_pid(files)
        if pid is None:
            log.info("no Spark Thrift Server is running for %s", files.folder)
            return False
        identity = _start_ticks(pid)  # taken before the checks, verified at each signal
        if not is_alive(pid):
            log.info("the Spark Thrift Server is not running (pid %d is gone): removed the "
                     "stale pid file", pid)
            files.pid_file.unlink(missing_ok=True)
            return False
        if not _is_our_server(pid, files):
            shown = " ".join(_cmdline(pid))[:120] or "?"
            log.warning("pid %d is not the Spark Thrift Server of %s (it runs: %s): left it "
                        "alone and removed the stale pid file", pid, files.folder, shown)
            files.pid_file.unlink(missing_ok=True)
            return False
        info = _info(pid, files)
        log.info("stopping the Spark Thrift Server (pid %d, %s:%d, up %s)", pid, info.host,
                 info.port, info.uptime)
        _terminate(pid, timeout, identity)
        files.pid_file.unlink(missing_ok=True)
        log.info("stopped the Spark Thrift Server (pid %d)", pid)
        return True


# --- SQL through the server -----------------------------------------------------------------------


def _convert(kind: str) -> Callable[[str], Any] | None:
    """HiveServer2 sends these types as text (PyHive parses only timestamps and decimals)."""
    converters: dict[str, Callable[[str], Any]] = {
        "TIMESTAMP_TYPE": dt.datetime.fromisoformat,
        "DATE_TYPE": dt.date.fromisoformat,
        "DECIMAL_TYPE": Decimal,
    }
    return converters.get(kind)


@dataclass(frozen=True)
class ThriftResult:
    """The rows of one statement, already fetched (empty for DDL)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def collect(self) -> list[tuple[Any, ...]]:
        return list(self.rows)

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class ThriftSql:
    """A `spark`-like object over a PyHive HiveServer2 session: `.sql(statement).collect()`.

    The session gets SESSION_SETTINGS (UTC, ANSI off), as the dbt profile's. Timestamps
    come back as naive datetimes in the session zone (UTC), dates as dates, decimals as
    Decimal.
    """

    def __init__(self, host: str | None = None, port: int | None = None,
                 username: str | None = None, *,
                 configuration: Mapping[str, str] | None = None) -> None:
        from pyhive import hive

        self.host = host or default_host()
        self.port = default_port() if port is None else port
        self.username = username or os.environ.get("SPARKIFY_THRIFT_USER") or _unix_user()
        settings = dict(SESSION_SETTINGS if configuration is None else configuration)
        try:
            self._connection: Any = hive.connect(host=self.host, port=self.port,
                                                 username=self.username,
                                                 configuration=settings)
        except Exception as exc:
            raise IngestError(
                f"cannot open a session on the Spark Thrift Server at {self.host}:{self.port} "
                f"({_error_text(exc)}): is it running? (python -m ingest spark-server status)"
            ) from exc

    def sql(self, statement: str) -> ThriftResult:
        cursor = self._connection.cursor()
        try:
            cursor.execute(statement)
            description = cursor.description or []
            rows = cursor.fetchall() if description else []
        except Exception as exc:
            first = " ".join(statement.split())[:120]
            raise IngestError(f"the Spark Thrift Server failed on `{first}`: "
                              f"{_error_text(exc)}") from exc
        finally:
            cursor.close()
        columns = tuple(str(item[0]).rsplit(".", 1)[-1] for item in description)
        converters = [_convert(str(item[1])) for item in description]
        converted = tuple(
            tuple(convert(value) if convert and isinstance(value, str) else value
                  for value, convert in zip(row, converters, strict=True))
            for row in rows
        )
        return ThriftResult(columns, converted)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.close()

    def __enter__(self) -> ThriftSql:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _unix_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "dbt"


def _error_text(exc: Exception) -> str:
    """PyHive wraps the server's answer in a thrift response: dig out its message."""
    first = exc.args[0] if exc.args else None
    message = getattr(getattr(first, "status", None), "errorMessage", None)
    text = str(message or exc or type(exc).__name__)
    return text.strip().splitlines()[0][:500] if text.strip() else type(exc).__name__


def stage_through_server(source_uri: str, *, schema: str, host: str | None = None,
                         port: int | None = None, state: StatePaths | None = None,
                         location: Location = "local", dry_run: bool = False,
                         options: StageOptions | None = None) -> StageResult:
    """`stage_spark` with the tables registered in the Thrift Server's metastore."""
    from ingest.stage.spark import stage_spark

    if dry_run:
        return stage_spark(source_uri, schema=schema, location=location, state=state,
                           dry_run=True, options=options)
    with ThriftSql(host, port) as session:
        return stage_spark(source_uri, schema=schema, location=location, state=state,
                           spark=session, options=options)


# --- command line ---------------------------------------------------------------------------------


def _port_argument(value: str) -> int:
    try:
        return _port_number(value)
    except IngestError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_spark_server_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register `spark-server start|stop|status [--port N]` on a subparsers object."""
    parser = commands.add_parser(
        "spark-server",
        help="a local Spark Thrift Server (as on EMR) for the spark_thrift dbt target",
        description="Start, stop or show the local Spark Thrift Server. It binds 127.0.0.1, "
                    "keeps its own warehouse and metastore in <state>/spark-thrift, and runs "
                    "until `stop`. status exits 3 when nothing runs.",
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument(
        "--port", type=_port_argument,
        default=os.environ.get("SPARKIFY_THRIFT_PORT") or DEFAULT_PORT,
        help="start: the port to listen on (default SPARKIFY_THRIFT_PORT or 10000)")
    parser.add_argument(
        "--timeout", type=float, default=START_TIMEOUT,
        help=f"start: seconds to wait for the server to answer (default {START_TIMEOUT:.0f})")
    parser.set_defaults(handler=cmd_spark_server)


def cmd_spark_server(args: argparse.Namespace) -> int:
    state = StatePaths.default()
    if args.action == "start":
        started = start(args.port, state, timeout=args.timeout)
        print(started.describe())
        print("dbt: SPARKIFY_TARGET=spark_thrift (or --target spark_thrift) with "
              f"SPARKIFY_THRIFT_PORT={started.port}")
        return 0
    if args.action == "stop":
        stop(state)
        return 0
    running = status(state)
    if running is None:
        print(f"Spark Thrift Server not running (state: {server_files(state).folder})")
        return 3
    print(running.describe())
    return 0
