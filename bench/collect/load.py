"""The collector's load tool: post a source's events to a collector, measure it.

`python -m bench.collect --url URL --source DIR` runs it once; `python -m bench.collect`
measures every level (bench/collect/levels.py). httpx is the `bench` extra.

`clients` concurrent clients (httpx, one keep-alive connection each) take the source's
events `batch` at a time, in order, and post them as NDJSON: each event once, or, with
`seconds`, over and over until the time is up. After a 429 or 503 a client waits as long as
Retry-After says, after a failed connection a tenth of a second. The result counts
requests, events accepted and rejected, errors (any answer but 200, or a failed
connection) and the request latencies (p50, p99), and keeps every event the collector
answered 200 for (`delivered`), so a test can compare them with what the stream holds.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.raw.sources import RawSource


@dataclass(frozen=True)
class LoadPlan:
    url: str
    key: str
    clients: int = 1
    batch: int = 100
    seconds: float | None = None
    cacert: Path | None = None
    # set by the caller to end the load before `seconds` (a test that has seen what it needs)
    until: threading.Event | None = field(default=None, compare=False)


@dataclass
class LoadResult:
    """What the clients saw."""

    clients: int
    batch: int
    requests: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    delivered: Counter[bytes] = field(default_factory=Counter)

    @property
    def events_per_second(self) -> float:
        return (self.accepted + self.rejected) / self.seconds if self.seconds else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """The latency (s) below which `share` of the requests were answered."""
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[
            round(share * 100) - 1]

    def summary(self) -> str:
        errors = ", ".join(f"{status}: {count}" for status, count in
                           sorted(self.statuses.items()) if status != "200")
        return (f"{self.clients} client(s), {self.batch} event(s) a request: "
                f"{self.requests} requests in {self.seconds:.1f} s, "
                f"{self.events_per_second:.0f} events/s ({self.requests_per_second:.0f} "
                f"requests/s), p50 {self.percentile(0.5) * 1000:.1f} ms, "
                f"p99 {self.percentile(0.99) * 1000:.1f} ms; {self.accepted} accepted, "
                f"{self.rejected} rejected, {self.errors} errors"
                + (f" ({errors})" if errors else ""))


def source_lines(source: RawSource) -> list[bytes]:
    """Every non-blank line of the source's log objects, in key order."""
    lines: list[bytes] = []
    for obj in sorted(source.list_objects("log_data"), key=lambda item: item.key):
        if obj.problem is None:
            lines += [line.removesuffix(b"\r") for line in source.read(obj.key).split(b"\n")
                      if line.strip()]
    return lines


def run_load(plan: LoadPlan, source: RawSource | list[bytes]) -> LoadResult:
    """Post the events; blocks until they are sent (or the time is up)."""
    lines = source if isinstance(source, list) else source_lines(source)
    return asyncio.run(_load(plan, lines))


async def _load(plan: LoadPlan, lines: list[bytes]) -> LoadResult:
    import httpx

    result = LoadResult(plan.clients, plan.batch)
    batches = _batches(lines, plan.batch, plan.seconds is not None)
    # one context for every client: httpx would build one each, loading the CA bundle
    verify = (ssl.create_default_context(cafile=str(plan.cacert)) if plan.cacert is not None
              else httpx.create_ssl_context())
    headers = {"X-API-Key": plan.key, "Content-Type": "application/x-ndjson"}
    started = time.perf_counter()
    deadline = started + plan.seconds if plan.seconds is not None else None
    url = plan.url.rstrip("/") + "/v1/events"

    async def client() -> None:
        async with httpx.AsyncClient(verify=verify, headers=headers, timeout=60) as http:
            for number, batch in enumerate(batches):
                if number and ((deadline is not None and time.perf_counter() >= deadline)
                               or (plan.until is not None and plan.until.is_set())):
                    return  # every client posts once at least
                sent = time.perf_counter()
                try:
                    response = await http.post(url, content=b"\n".join(batch))
                except httpx.HTTPError as exc:
                    result.errors += 1
                    result.statuses[type(exc).__name__] += 1
                    await asyncio.sleep(0.1)  # the collector is gone or restarting
                    continue
                result.latencies.append(time.perf_counter() - sent)
                result.requests += 1
                result.statuses[str(response.status_code)] += 1
                if response.status_code != 200:
                    result.errors += 1
                    retry_after = response.headers.get("Retry-After", "")
                    if retry_after.isdigit():  # 429 and 503: as a well-behaved client does
                        await asyncio.sleep(int(retry_after))
                    continue
                answer = response.json()
                result.accepted += answer["accepted"]
                result.rejected += answer["rejected"]
                result.delivered.update(batch)

    await asyncio.gather(*(client() for _ in range(plan.clients)))
    result.seconds = time.perf_counter() - started
    return result


def _batches(lines: list[bytes], size: int, repeat: bool) -> Iterator[list[bytes]]:
    """The lines in batches (shared by the clients: each batch goes to one of them)."""
    starts = itertools.cycle(range(0, len(lines), size)) if repeat else range(0, len(lines),
                                                                              size)
    for start in starts:
        yield lines[start:start + size]
