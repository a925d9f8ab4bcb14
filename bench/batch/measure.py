"""Run one step as its own process: its wall time and the peak RSS of its process tree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.batch.results import StepResult
from bench.common.memory import tree_rss
from bench.common.process import run_sampled

POLL_SECONDS = 0.2


def measure(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_file: Path,
            extra_pids: Sequence[int] = (), poll: float = POLL_SECONDS) -> StepResult:
    """Run `command`, its output appended to `log_file`; its wall time and the peak RSS summed
    over its process tree, sampled every `poll` seconds.

    `extra_pids` (a Thrift Server doing the step's work) are added to every sample. A step
    that fails raises IngestError with the tail of its log.
    """
    peak = 0

    def sample(pid: int) -> None:
        nonlocal peak
        peak = max(peak, tree_rss(pid, extra_pids))

    seconds = run_sampled(command, env=env, cwd=cwd, log_file=log_file, sample=sample, poll=poll)
    return StepResult(seconds, peak)
