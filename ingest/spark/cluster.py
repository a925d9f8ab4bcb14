"""A local Spark standalone cluster: one master and N workers, each its own JVM, on loopback.

`python -m ingest spark-cluster start|stop|status` (docs/spark-cluster.md). The pip pyspark
ships `bin/spark-class` and every jar, but not `sbin/start-master.sh`: the daemons are
started here with `spark-class org.apache.spark.deploy.master.Master` / `…worker.Worker`,
bound to 127.0.0.1 on free ports, as session leaders (they outlive the command).

Everything lives in `<state>/spark-cluster/`: `cluster.json` (the master URL and ports),
one pid file and one log per daemon, the workers' `work/` folders (executor logs), and a
lock (one start or stop at a time). `start` returns once every worker registered with the
master (its JSON status page says so); `stop` ends the workers, then the master, and only
processes whose command line carries this state's marker; both are idempotent.

With SPARKIFY_SPARK_MASTER=standalone, every Spark entry point of the project (the session
dbt target, `stage`, `run`, `stream`, `make run`, the Thrift Server) runs its executors on
this cluster (ingest.spark.conf resolves the URL from `cluster.json`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.locks import exclusive
from ingest.paths import StatePaths
from ingest.spark.class_sharing import spark_home
from ingest.spark.processes import cmdline, is_alive, start_ticks, terminate

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
MARKER = "-Dsparkify.cluster.state="
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
WORKERS = 2
# per worker: cores it offers (more than the machine's, so two applications fit at once)
# and memory for its executors; each application takes at most CORES_PER_APP cores
WORKER_CORES = 2
WORKER_MEMORY = "2g"
CORES_PER_APP = 2
EXECUTOR_MEMORY = "1g"


@dataclass(frozen=True)
class ClusterFiles:
    folder: Path

    @classmethod
    def of(cls, state: StatePaths) -> ClusterFiles:
        return cls(state.root / "spark-cluster")

    @property
    def description(self) -> Path:
        return self.folder / "cluster.json"

    @property
    def lock(self) -> Path:
        return self.folder / "cluster.lock"

    @property
    def marker(self) -> str:
        return f"{MARKER}{self.folder}"

    def pid_file(self, daemon: str) -> Path:
        return self.folder / f"{daemon}.pid"

    def log_file(self, daemon: str) -> Path:
        return self.folder / f"{daemon}.log"


@dataclass(frozen=True)
class Daemon:
    name: str  # master, worker-1, …
    pid: int
    alive: bool


@dataclass(frozen=True)
class ClusterInfo:
    """A cluster of this state: its master URL, daemons and registered workers."""

    url: str
    web_port: int
    daemons: tuple[Daemon, ...]
    alive_workers: int
    started_at: dt.datetime

    @property
    def workers(self) -> tuple[Daemon, ...]:
        return tuple(daemon for daemon in self.daemons if daemon.name != "master")

    def describe(self, files: ClusterFiles) -> str:
        lines = [f"Spark standalone cluster: master {self.url} (web UI "
                 f"http://{HOST}:{self.web_port}), {self.alive_workers} of "
                 f"{len(self.workers)} workers registered, since "
                 f"{self.started_at:%Y-%m-%d %H:%M:%S} UTC"]
        lines += [f"  {daemon.name}: pid {daemon.pid}"
                  f"{'' if daemon.alive else ' (not running)'}" for daemon in self.daemons]
        lines.append(f"  state and logs: {files.folder}")
        return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _ours(pid: int, files: ClusterFiles) -> bool:
    return is_alive(pid) and files.marker in " ".join(cmdline(pid))


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _registered_workers(web_port: int) -> int:
    """Workers the master counts ALIVE, from its JSON page; -1 when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{web_port}/json/", timeout=2) as answer:
            page = json.loads(answer.read())
    except (OSError, ValueError):
        return -1
    return int(page.get("aliveworkers", 0))


def _description(files: ClusterFiles) -> dict[str, object] | None:
    try:
        loaded = json.loads(files.description.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def status(state: StatePaths) -> ClusterInfo | None:
    """The cluster of this state when its master runs, else None."""
    files = ClusterFiles.of(state)
    described = _description(files)
    if described is None:
        return None
    names = ["master", *(f"worker-{n}" for n in range(1, int(str(described["workers"])) + 1))]
    daemons = []
    for name in names:
        pid = _read_pid(files.pid_file(name))
        if pid is not None:
            daemons.append(Daemon(name, pid, _ours(pid, files)))
    master = next((daemon for daemon in daemons if daemon.name == "master"), None)
    if master is None or not master.alive:
        return None
    web_port = int(str(described["web_port"]))
    return ClusterInfo(str(described["url"]), web_port, tuple(daemons),
                       max(0, _registered_workers(web_port)),
                       dt.datetime.fromisoformat(str(described["started_at"])))


def master_url(state: StatePaths) -> str:
    """The running cluster's master URL; IngestError saying how to start one."""
    info = status(state)
    if info is None:
        raise IngestError("SPARKIFY_SPARK_MASTER=standalone, but the project's Spark cluster is "
                          "not running: start it with `python -m ingest spark-cluster start` "
                          "(or unset SPARKIFY_SPARK_MASTER for local mode)")
    return info.url




def _spark_class() -> Path:
    found = spark_home() / "bin" / "spark-class"
    if not found.is_file():
        raise IngestError(f"{found} is missing: reinstall pyspark (make setup)")
    return found


def _launch(files: ClusterFiles, name: str, arguments: list[str]) -> int:
    env = {**os.environ, "SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": HOST,
           "SPARK_DAEMON_JAVA_OPTS": f"{files.marker} -Duser.timezone=UTC",
           "SPARK_DAEMON_MEMORY": "512m", "TZ": "UTC"}
    env.pop("SPARK_CONF_DIR", None)  # the daemons need none of the applications' settings
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    with files.log_file(name).open("ab") as output:
        output.write(f"\n=== sparkify spark-cluster start {stamp} UTC\n".encode())
        output.flush()
        process = subprocess.Popen([str(_spark_class()), *arguments], stdin=subprocess.DEVNULL,
                                   stdout=output, stderr=subprocess.STDOUT, env=env,
                                   cwd=files.folder, start_new_session=True)
    files.pid_file(name).write_text(f"{process.pid}\n", encoding="utf-8")
    return process.pid


def start(state: StatePaths, *, workers: int = WORKERS,
          timeout: float = START_TIMEOUT) -> ClusterInfo:
    """Start a master and `workers` workers, and wait until all registered; or return the
    running cluster. IngestError (with the log's last lines) when a daemon dies or the
    workers do not register within `timeout`; nothing is left running then."""
    files = ClusterFiles.of(state)
    with exclusive(files.lock, "a start or stop of the Spark cluster", wait=True):
        running = status(state)
        if running is not None and running.alive_workers >= len(running.workers):
            log.info("the Spark cluster is already running (%s)", running.url)
            return running
        if running is not None:
            log.warning("the Spark cluster runs with %d of %d workers: restarting it",
                        running.alive_workers, len(running.workers))
            _stop_daemons(files)
        port, web_port = _free_port(), _free_port()
        url = f"spark://{HOST}:{port}"
        files.description.write_text(json.dumps({
            "url": url, "port": port, "web_port": web_port, "workers": workers,
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }), encoding="utf-8")
        log.info("starting a Spark master on %s and %d workers (state %s)", url, workers,
                 files.folder)
        try:
            _launch(files, "master", [MASTER_CLASS, "--host", HOST, "--port", str(port),
                                      "--webui-port", str(web_port)])
            for number in range(1, workers + 1):
                work = files.folder / f"work-{number}"
                work.mkdir(exist_ok=True)
                _launch(files, f"worker-{number}", [
                    WORKER_CLASS, url, "--host", HOST, "--port", str(_free_port()),
                    "--webui-port", str(_free_port()), "--cores", str(WORKER_CORES),
                    "--memory", WORKER_MEMORY, "--work-dir", str(work)])
            _wait_for_workers(files, web_port, workers, timeout)
        except BaseException:
            _stop_daemons(files)
            raise
        info = status(state)
        if info is None:
            raise IngestError(f"the Spark master stopped right after it started: see "
                              f"{files.log_file('master')}")
        log.info("Spark cluster ready: %s with %d workers", info.url, info.alive_workers)
        return info


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "  | (no log)"
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(f"  | {line}" for line in kept)


def _wait_for_workers(files: ClusterFiles, web_port: int, workers: int,
                      timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for name in ("master", *(f"worker-{n}" for n in range(1, workers + 1))):
            pid = _read_pid(files.pid_file(name))
            if pid is None or not is_alive(pid):
                raise IngestError(f"the Spark {name} exited while starting; the last lines of "
                                  f"{files.log_file(name)}:\n{_log_tail(files.log_file(name))}")
        if _registered_workers(web_port) >= workers:
            return
        if time.monotonic() > deadline:
            raise IngestError(f"the Spark workers did not register with the master within "
                              f"{timeout:.0f} s; the last lines of "
                              f"{files.log_file('master')}:\n"
                              f"{_log_tail(files.log_file('master'))}")
        time.sleep(0.5)


def _stop_daemons(files: ClusterFiles) -> int:
    """Stop the workers, then the master; the number of processes stopped."""
    described = _description(files) or {}
    count = int(str(described.get("workers", WORKERS)))
    stopped = 0
    for name in (*(f"worker-{n}" for n in range(count, 0, -1)), "master"):
        pid = _read_pid(files.pid_file(name))
        if pid is not None:
            identity = start_ticks(pid)
            if _ours(pid, files):
                log.info("stopping the Spark %s (pid %d)", name, pid)
                terminate(pid, STOP_TIMEOUT, identity)
                stopped += 1
            files.pid_file(name).unlink(missing_ok=True)
    files.description.unlink(missing_ok=True)
    return stopped


def stop(state: StatePaths) -> bool:
    """Stop this state's cluster; True when something was running. Idempotent."""
    files = ClusterFiles.of(state)
    with exclusive(files.lock, "a start or stop of the Spark cluster", wait=True):
        stopped = _stop_daemons(files)
    if stopped:
        log.info("stopped the Spark cluster (%d processes)", stopped)
    else:
        log.info("no Spark cluster is running for %s", files.folder)
    return stopped > 0
