"""Run one command as its own process: wall time and the CPU seconds of its process tree.

The machine is shared, so CPU seconds (user + system, summed over the process and every
process it started, sampled every `poll` seconds) are the figure that compares between runs;
wall time and the load average say how busy the machine was. `server_pids` (a warm engine
doing the command's work) add their CPU seconds spent during the command.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.common.machine import load_average
from bench.common.process import run_sampled

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Cost:
    """What a command cost: wall and CPU seconds, and the 1-minute load average at its end."""

    wall_seconds: float
    cpu_seconds: float
    load_average: float


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _sample(root: int, seen: dict[int, float]) -> None:
    """The latest CPU seconds of `root` and its descendants, per pid (a pid only grows)."""
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(root)
        for member in (parent, *parent.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                seen[member.pid] = max(seen.get(member.pid, 0.0), _cpu(member))


def _servers_cpu(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            server = psutil.Process(pid)
            total += _cpu(server) + sum(_cpu(child) for child in server.children(recursive=True))
    return total


def measured(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_file: Path,
             server_pids: Sequence[int] = (), poll: float = POLL_SECONDS) -> Cost:
    """Run `command` (output appended to `log_file`); raise IngestError with the log's tail
    when it fails."""
    seen: dict[int, float] = {}
    server_before = _servers_cpu(server_pids)
    wall = run_sampled(command, env=env, cwd=cwd, log_file=log_file,
                       sample=lambda pid: _sample(pid, seen), poll=poll)
    server = _servers_cpu(server_pids) - server_before
    return Cost(round(wall, 2), round(sum(seen.values()) + server, 2), load_average()[0])
