"""The collector's metrics, in the Prometheus text format (prometheus-client).

One registry per app (not the library's global one), so that tests may make several apps.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Requests by status, events by outcome, PutRecords calls and their latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("sparkify_collect_requests", "POST /v1/events requests by "
                                "HTTP status", ["status"], registry=self.registry)
        self.events = Counter("sparkify_collect_events", "events by outcome: accepted, "
                              "rejected (quarantined downstream with their reason)",
                              ["outcome"], registry=self.registry)
        self.request_seconds = Histogram("sparkify_collect_request_seconds",
                                         "time to answer POST /v1/events",
                                         buckets=_LATENCY, registry=self.registry)
        self.put_seconds = Histogram("sparkify_collect_put_seconds", "stream latency: one "
                                     "PutRecords call, retries included",
                                     buckets=_LATENCY, registry=self.registry)
        self.put_calls = Counter("sparkify_collect_put_calls", "PutRecords calls by result",
                                 ["result"], registry=self.registry)
        self.put_records = Counter("sparkify_collect_put_records", "records put on the "
                                   "stream", registry=self.registry)
        self.pending = Gauge("sparkify_collect_pending_events", "events waiting for the "
                             "stream", registry=self.registry)

    def on_put(self, records: int, seconds: float, ok: bool) -> None:
        self.put_seconds.observe(seconds)
        self.put_calls.labels("ok" if ok else "failed").inc()
        if ok:
            self.put_records.inc(records)

    def text(self) -> bytes:
        return generate_latest(self.registry)
