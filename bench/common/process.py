"""Run one command as its own process, its output appended to a log, calling `sample` with its
pid every `poll` seconds until it ends (the benchmarks' memory and CPU figures)."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bench.common.memory import kill_tree
from ingest.errors import IngestError


def run_sampled(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_file: Path,
                sample: Callable[[int], None], poll: float) -> float:
    """Run `command`; its wall seconds. A command that fails raises IngestError with the tail
    of its log; an interrupt stops it and the processes it started."""
    with log_file.open("ab") as out:
        out.write(f"\n=== {dt.datetime.now(dt.UTC):%H:%M:%S} {' '.join(command)}\n".encode())
        out.flush()
        started = time.perf_counter()
        process = subprocess.Popen(list(command), env=dict(env), cwd=cwd, stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            while True:
                sample(process.pid)
                try:
                    process.wait(timeout=poll)
                    break
                except subprocess.TimeoutExpired:
                    continue
        except BaseException:
            kill_tree(process)
            raise
        seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise IngestError(f"`{' '.join(command)}` failed (exit {process.returncode}):\n"
                          f"{_tail(log_file)}\n(whole log: {log_file})")
    return seconds


def _tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    return "\n".join(f"  | {line}" for line in text[-lines:])
