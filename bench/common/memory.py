"""Memory of process trees, with psutil: the RSS a step uses, and the processes behind a port."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Sequence

import psutil

GIB = 2**30
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def tree_rss(pid: int, extra_pids: Sequence[int] = ()) -> int:
    """The RSS of process `pid`, its descendants and `extra_pids`, summed (gone ones count 0)."""
    members: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        members[pid] = root
        members.update({child.pid: child for child in root.children(recursive=True)})
    for extra in extra_pids:
        with contextlib.suppress(psutil.Error):
            members.setdefault(extra, psutil.Process(extra))
    total = 0
    for member in members.values():
        with contextlib.suppress(psutil.Error):
            total += int(member.memory_info().rss)
    return total


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this harness started, and the processes it started (the JVM)."""
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    process.kill()
    process.wait()


def listening_pids(host: str, port: int) -> tuple[int, ...]:
    """The local processes listening on `port` (none when the server is remote)."""
    if host not in LOCAL_HOSTS | {socket.gethostname()}:
        return ()
    try:
        return tuple(sorted({conn.pid for conn in psutil.net_connections(kind="tcp")
                             if conn.pid and conn.status == psutil.CONN_LISTEN
                             and conn.laddr and conn.laddr.port == port}))
    except psutil.Error:
        return ()


def total_ram_gib() -> float:
    """The machine's memory, in GiB to one decimal."""
    return round(int(psutil.virtual_memory().total) / GIB, 1)


def physical_cores() -> int | None:
    """The physical CPU cores (None when psutil cannot tell)."""
    count = psutil.cpu_count(logical=False)
    return int(count) if count else None
