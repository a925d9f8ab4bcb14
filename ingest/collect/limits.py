"""A token bucket per API key: `rate` events a second, up to `burst` at once.

Small enough to keep here (the PyPI rate limiters bring storage back-ends and decorators
this process does not need): one bucket per key id, refilled by the time since it was last
used, all on the server's event loop (no locking).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimits:
    """`take(key, n)`: 0.0 when `n` events may go now, else the seconds until they may.

    `n` is at most `burst` (the CLI keeps the largest request within the burst)."""

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, float(burst), clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, events: int) -> float:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= events:
            bucket.tokens -= events
            return 0.0
        return (events - bucket.tokens) / self.rate

    def refund(self, key: str, events: int) -> None:
        """Give back what a request took that was not accepted after all (a 503)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(self.burst, bucket.tokens + events)
