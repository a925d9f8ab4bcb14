"""Requests' events onto the stream in shared PutRecords batches, with back-pressure.

`put(entries)` returns once every entry is on the stream, or raises Backpressure: a request
is answered only after its events are in, so an accepted event is never only in memory.
Events of concurrent requests share calls: a batch waits up to `linger` seconds for more, is
cut at 500 records or 5 MiB (the PutRecords limits), and `flushers` batches may be in flight
at once (boto3 in worker threads; one by default, which keeps a session's events in order
across requests, and which moto needs: its put is not safe for concurrent calls). A
request's events go in one call when they fit, else in the fewest.

Back-pressure, answered with 503 and Retry-After instead of accepting:

- more than `max_pending` events already wait for the stream;
- the stream failed a call (unreachable, throttling that outlasted the retries of
  ingest.kinesis.records.put_records): the requests of that call fail, and for `cool_down`
  seconds new ones are refused at once; then calls are tried again.

A failed call may have put some of its records (PutRecords is not all-or-nothing): a client
that sends them again makes duplicates on the stream, which the marts' natural key removes
(at-least-once, as for the rest of the streaming path).

`close()` drains: it waits until every queued event is put (SIGTERM, via the app's shutdown).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.errors import IngestError
from ingest.kinesis.records import MAX_BATCH_BYTES, MAX_BATCH_RECORDS, Entry, put_records

log = logging.getLogger(__name__)
PutRecords = Callable[[Sequence[Entry]], int]


class Backpressure(Exception):
    """The stream cannot take these events now: answer 503, Retry-After `retry_after` s."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = max(1, math.ceil(retry_after))


@dataclass
class _Ticket:
    """One request's events: done when all its chunks are put, failed when one fails."""

    future: asyncio.Future[None]
    chunks: int


@dataclass
class _Chunk:
    entries: list[Entry]
    size: int
    ticket: _Ticket


class StreamSink:
    """The batching writer; start() on the server's loop, put() per request, close() last."""

    def __init__(self, put: PutRecords, *, linger: float = 0.005, max_pending: int = 20_000,
                 flushers: int = 1, cool_down: float = 1.0,
                 on_put: Callable[[int, float, bool], None] | None = None) -> None:
        self._put, self.linger, self.max_pending = put, linger, max_pending
        self.flushers, self.cool_down, self.on_put = flushers, cool_down, on_put
        self._queue: deque[_Chunk] = deque()
        self.pending = 0  # events queued or in a call
        self._down_until = 0.0
        self._down_reason = ""
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self._flusher()) for _ in range(self.flushers)]

    async def put(self, entries: list[Entry]) -> None:
        """Put `entries` on the stream; Backpressure when it cannot take them now."""
        if not entries:
            return
        if self._closing or self._wake is None:
            raise Backpressure("the collector is shutting down", 1.0)
        wait = self._down_until - time.monotonic()
        if wait > 0:
            raise Backpressure(f"the stream is unavailable ({self._down_reason})", wait)
        if self.pending + len(entries) > self.max_pending:
            raise Backpressure(f"{self.pending} events already wait for the stream "
                               f"(limit {self.max_pending})", 1.0)
        chunks = _chunks(entries)
        ticket = _Ticket(asyncio.get_running_loop().create_future(), len(chunks))
        for entries_, size in chunks:
            self._queue.append(_Chunk(entries_, size, ticket))
        self.pending += len(entries)
        self._wake.set()
        await asyncio.shield(ticket.future)

    def available(self) -> bool:
        """False while a failed call's cool-down lasts."""
        return time.monotonic() >= self._down_until

    async def close(self) -> None:
        """Drain: put everything queued, then stop the flushers."""
        self._closing = True
        if self._wake is None:
            return
        while self.pending:
            self._wake.set()
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _flusher(self) -> None:
        assert self._wake is not None
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            if self.linger > 0 and not self._closing and not _full(self._queue):
                await asyncio.sleep(self.linger)
            batch = self._take()
            if batch:
                await self._send(batch)

    def _take(self) -> list[_Chunk]:
        batch: list[_Chunk] = []
        records = size = 0
        while self._queue:
            chunk = self._queue[0]
            if batch and (records + len(chunk.entries) > MAX_BATCH_RECORDS
                          or size + chunk.size > MAX_BATCH_BYTES):
                break
            batch.append(self._queue.popleft())
            records += len(chunk.entries)
            size += chunk.size
        return batch

    async def _send(self, batch: list[_Chunk]) -> None:
        entries = [entry for chunk in batch for entry in chunk.entries]
        started = time.monotonic()
        error: BaseException | None = None
        try:
            await asyncio.to_thread(self._put, entries)
        except Exception as exc:
            error = exc
        seconds = time.monotonic() - started
        self.pending -= len(entries)
        if self.on_put is not None:
            self.on_put(len(entries), seconds, error is None)
        if error is not None:
            reason = str(error) if isinstance(error, IngestError) else repr(error)
            log.warning("PutRecords of %d records failed: %s", len(entries), reason)
            self._down_until = time.monotonic() + self.cool_down
            self._down_reason = reason
        for chunk in batch:
            future = chunk.ticket.future
            if future.done():
                continue
            if error is not None:
                future.set_exception(Backpressure(
                    f"the stream did not take the events ({self._down_reason})",
                    self.cool_down))
            else:
                chunk.ticket.chunks -= 1
                if chunk.ticket.chunks == 0:
                    future.set_result(None)


def _full(queue: deque[_Chunk]) -> bool:
    records = 0
    for chunk in queue:
        records += len(chunk.entries)
        if records >= MAX_BATCH_RECORDS:
            return True
    return False


def _chunks(entries: list[Entry]) -> list[tuple[list[Entry], int]]:
    """The entries in runs that each fit one PutRecords call."""
    chunks: list[tuple[list[Entry], int]] = []
    current: list[Entry] = []
    size = 0
    for entry in entries:
        if current and (len(current) == MAX_BATCH_RECORDS
                        or size + entry.size > MAX_BATCH_BYTES):
            chunks.append((current, size))
            current, size = [], 0
        current.append(entry)
        size += entry.size
    chunks.append((current, size))
    return chunks


def kinesis_put(client: Any, stream: str, attempts: int = 4) -> PutRecords:
    """PutRecords on `stream` with a few quick retries of the records it refuses."""

    def put(entries: Sequence[Entry]) -> int:
        return put_records(client, stream, entries, attempts=attempts, base_delay=0.05)

    return put
