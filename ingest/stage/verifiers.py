"""Where the staging loop verifies objects: worker processes when it pays, else this one.

Verifying is CPU-bound Python: with at least PARALLEL_MIN_OBJECTS objects to process, it
runs in one worker process per core (at most 4; spawned, so the parent's threads and JVM are
not forked); fewer are verified inline (spawning costs about a second).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any

PARALLEL_MIN_OBJECTS = 8


def verifier_pool(objects: int) -> AbstractContextManager[Executor]:
    """An executor for verification: worker processes when it pays, else this process."""
    cores = os.cpu_count() or 1
    if objects < PARALLEL_MIN_OBJECTS or cores < 2:
        return nullcontext(Inline())
    return ProcessPoolExecutor(max_workers=min(cores, 4),
                               mp_context=multiprocessing.get_context("spawn"))


class Inline(Executor):
    """Executor.map without workers, for small batches (spawning costs about a second)."""

    def map(self, fn: Any, *iterables: Any, timeout: float | None = None,
            chunksize: int = 1) -> Iterator[Any]:
        return map(fn, *iterables)
