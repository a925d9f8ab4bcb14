"""Run one step as its own process: its wall time and the peak RSS of its process tree."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.batch.results import StepResult
from bench.common.memory import kill_tree, tree_rss
from ingest.errors import IngestError

POLL_SECONDS = 0.2


def measure(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_file: Path,
            extra_pids: Sequence[int] = (), poll: float = POLL_SECONDS) -> StepResult:
    """Run `command`, its output appended to `log_file`; its wall time and the peak RSS summed
    over its process tree, sampled every `poll` seconds.

    `extra_pids` (a Thrift Server doing the step's work) are added to every sample. A step
    that fails raises IngestError with the tail of its log.
    """
    with log_file.open("ab") as out:
        out.write(f"\n=== {dt.datetime.now(dt.UTC):%H:%M:%S} {' '.join(command)}\n".encode())
        out.flush()
        started = time.perf_counter()
        process = subprocess.Popen(list(command), env=dict(env), cwd=cwd, stdout=out,
                                   stderr=subprocess.STDOUT)
        peak = 0
        try:
            while True:
                peak = max(peak, tree_rss(process.pid, extra_pids))
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
    return StepResult(seconds, peak)


def _tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    return "\n".join(f"  | {line}" for line in text[-lines:])
