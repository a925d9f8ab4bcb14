"""Processes by pid, as /proc shows them (Linux only): alive, identity, start time, ending.

The Thrift Server's lifecycle (ingest.spark.thrift_server) uses these to signal only the
process it identified, never a pid reused by another one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import time
from pathlib import Path

from ingest.errors import IngestError

log = logging.getLogger(__name__)


def cmdline(pid: int) -> list[str]:
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


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot): with the pid, its identity."""
    fields = _stat_fields(pid)
    return int(fields[19]) if len(fields) > 19 else None


def started_at(pid: int) -> dt.datetime:
    boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime "))
    ticks = start_ticks(pid) or 0
    return dt.datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), dt.UTC)


def port_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def terminate(pid: int, timeout: float, identity: int | None) -> None:
    """SIGTERM, then SIGKILL after `timeout`, to the process the caller identified.

    `identity` is the pid's start time when the caller checked it. It is checked again
    before each signal, so a pid reused by another process meanwhile is never signalled.
    """
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        if not is_alive(pid) or start_ticks(pid) != identity:
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
