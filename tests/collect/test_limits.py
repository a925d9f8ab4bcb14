"""The per-key token bucket."""

from __future__ import annotations

from ingest.collect.limits import RateLimits


def test_a_key_gets_its_burst_then_its_rate() -> None:
    now = [0.0]
    limits = RateLimits(rate=100.0, burst=200, clock=lambda: now[0])
    assert limits.take("a", 150) == 0.0
    assert limits.take("a", 100) == 0.5  # 50 left: 50 more take half a second
    assert limits.take("b", 200) == 0.0  # every key has its own bucket
    now[0] = 0.5
    assert limits.take("a", 100) == 0.0
    now[0] = 100.0
    assert limits.take("a", 200) == 0.0  # refilled up to the burst, not beyond
    assert limits.take("a", 1) > 0
