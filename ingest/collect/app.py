"""The collection API (FastAPI): POST /v1/events, GET /healthz, GET /metrics, /openapi.json.

`POST /v1/events` with an API key in `X-API-Key`, a body of NDJSON or JSON (one event or an
array; ingest.collect.events) of at most `max_body` bytes and `max_events` events:

- 401 no key, a key the store does not know, or a revoked one (the same answer: no oracle of
  which ids exist); 415 another media type;
  413 a body or a batch over its limit; 400 a body that is not UTF-8 or not JSON as a whole;
  429 over the key's rate (Retry-After); 503 the stream cannot take the events now, or the
  key file cannot be read (Retry-After): nothing of the request is accepted; 408 a request
  too slow to arrive, 431 headers over their limits (ingest.collect.doors);
- 200 otherwise: per event, in order, `accepted` or `rejected` with the stage's reason. Both
  kinds are on the stream when the answer is sent: the accepted to be landed, the rejected
  to be quarantined with that reason by the consumer's stage.

Every error body is `{"error": <code>, "message": <one sentence>}`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response, Security
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from ingest.collect.events import (
    JSON_TYPE,
    NDJSON_TYPES,
    BodyProblem,
    event_texts,
    judge,
    media_type,
)
from ingest.collect.keys import Check, KeyStore
from ingest.collect.limits import RateLimits
from ingest.collect.metrics import Metrics
from ingest.collect.sink import Backpressure, StreamSink
from ingest.errors import IngestError

log = logging.getLogger(__name__)
KEY_HEADER = "X-API-Key"
_EVENT_SCHEMA = {"type": "object", "description": "one event of the raw log format "
                 "(docs/data-contract.md), e.g. ts, userId, sessionId, itemInSession, page"}
_REQUEST_BODY = {"required": True, "content": {
    "application/x-ndjson": {"schema": {"type": "string"},
                             "example": '{"ts": 1541121934796, "userId": "39", ...}\n...'},
    JSON_TYPE: {"schema": {"oneOf": [_EVENT_SCHEMA,
                                     {"type": "array", "items": _EVENT_SCHEMA}]}}}}
_ERROR = {"content": {JSON_TYPE: {"schema": {"type": "object", "properties": {
    "error": {"type": "string"}, "message": {"type": "string"}}}}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "each event accepted or rejected, in order"},
    400: {"description": "not UTF-8, or not JSON as a whole", **_ERROR},
    401: {"description": "no API key, or an unknown or revoked one", **_ERROR},
    408: {"description": "the request did not arrive in time", **_ERROR},
    413: {"description": "body or batch over the limit", **_ERROR},
    431: {"description": "request headers over their size or count limit", **_ERROR},
    415: {"description": "not NDJSON or JSON", **_ERROR},
    429: {"description": "over the key's rate limit; see Retry-After", **_ERROR},
    503: {"description": "the stream cannot take events now, or the API keys cannot be read; "
                         "see Retry-After", **_ERROR},
}


@dataclass(frozen=True)
class Limits:
    """Request limits and each key's rate."""

    max_body: int = 1024 * 1024
    max_events: int = 500
    rate: float = 5000.0
    burst: int = 10_000


class Refused(Exception):
    """An answer other than 200: status, error code, message, maybe Retry-After."""

    def __init__(self, status: int, code: str, message: str,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = (status, code, message,
                                                                  retry_after)


def create_app(stream: str, keys: KeyStore, sink: StreamSink, limits: Limits,
               metrics: Metrics | None = None) -> FastAPI:
    """The app; its lifespan starts the sink and drains it on shutdown."""
    metrics = metrics or Metrics()
    rates = RateLimits(limits.rate, limits.burst)
    key_problem = [""]  # the last key file problem logged

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sink.start()
        yield
        await sink.close()

    app = FastAPI(title="Sparkify event collector", version="1",
                  description="Posts app events onto the Kinesis stream (docs/collector.md).",
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    api_key = APIKeyHeader(name=KEY_HEADER, auto_error=False)

    @app.post("/v1/events", responses=_RESPONSES,
              openapi_extra={"requestBody": _REQUEST_BODY})
    async def post_events(request: Request,
                          presented: str | None = Security(api_key)) -> Response:
        """One event or a batch; each accepted or rejected with the stage's reason."""
        started = time.perf_counter()
        try:
            response = await _collect(request, presented)
        except Refused as refused:
            response = _refusal(refused)
        metrics.requests.labels(str(response.status_code)).inc()
        metrics.request_seconds.observe(time.perf_counter() - started)
        return response

    async def _collect(request: Request, presented: str | None) -> Response:
        key_id = await _authenticate(presented)
        kind = media_type(request.headers.get("content-type"))
        if kind != JSON_TYPE and kind not in NDJSON_TYPES:
            raise Refused(415, "unsupported_media_type",
                          f"Content-Type {kind or '(none)'}: send application/x-ndjson "
                          "(one event a line) or application/json (an event or an array)")
        body = await _read_body(request, limits.max_body)
        try:
            texts = event_texts(body, kind, limits.max_events)
        except BodyProblem as problem:
            code = "too_many_events" if problem.status == 413 else "bad_body"
            raise Refused(problem.status, code, problem.reason) from None
        wait = rates.take(key_id, len(texts))
        if wait > 0:
            raise Refused(429, "rate_limited",
                          f"over this key's limit of {limits.rate:g} events/s "
                          f"(burst {limits.burst})", retry_after=max(1, round(wait + 0.5)))
        judged = judge(texts)
        entries = [item.entry for item in judged if item.on_stream]
        try:
            await sink.put(entries)
        except Backpressure as busy:
            rates.refund(key_id, len(texts))
            raise Refused(503, "stream_unavailable", busy.reason,
                          retry_after=busy.retry_after) from None
        rejected = sum(item.reason is not None for item in judged)
        metrics.events.labels("accepted").inc(len(judged) - rejected)
        metrics.events.labels("rejected").inc(rejected)
        results = [{"index": index, "status": "accepted"} if item.reason is None else
                   {"index": index, "status": "rejected", "reason": item.reason}
                   for index, item in enumerate(judged)]
        return Response(orjson.dumps({"accepted": len(judged) - rejected,
                                      "rejected": rejected, "events": results}),
                        media_type=JSON_TYPE)

    async def _authenticate(presented: str | None) -> str:
        if not presented:
            raise Refused(401, "missing_api_key", f"send an API key in the {KEY_HEADER} "
                          "header (`python -m ingest collect-key create` makes one)")
        try:
            verdict = keys.cached(presented)
            if verdict is None:
                verdict = await run_in_threadpool(keys.verify, presented)
        except IngestError as exc:
            if str(exc) != key_problem[0]:  # said once in the log, not once per request
                key_problem[0] = str(exc)
                log.error("every request gets 503: %s", exc)
            raise Refused(503, "api_keys_unavailable", "the collector cannot read its API "
                          "keys now (its log says why)", retry_after=5) from None
        key_problem[0] = ""
        if verdict is not Check.OK:  # unknown and revoked alike: no oracle of the ids
            raise Refused(401, "invalid_api_key", "the API key is not valid (unknown, or "
                          "revoked)")
        return keys.key_id(presented)

    @app.get("/healthz")
    async def healthz() -> Response:
        """Liveness, with the stream side's state."""
        return Response(orjson.dumps({"status": "ok", "stream": stream,
                                      "pending_events": sink.pending,
                                      "stream_available": sink.available()}),
                        media_type=JSON_TYPE)

    @app.get("/metrics")
    async def prometheus() -> Response:
        """Requests, events accepted and rejected, stream latency (Prometheus text)."""
        metrics.pending.set(sink.pending)
        return Response(metrics.text(), media_type=CONTENT_TYPE_LATEST)

    sink.on_put = metrics.on_put
    return app


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Refused(413, "body_too_large", f"a body of {declared} bytes, over the limit "
                      f"of {limit}: send smaller batches")
    parts: list[bytes] = []
    size = 0
    try:
        async for part in request.stream():
            size += len(part)
            if size > limit:
                raise Refused(413, "body_too_large", f"a body over the limit of {limit} "
                              "bytes: send smaller batches")
            parts.append(part)
    except ClientDisconnect:  # gone, or cut off by a timeout (ingest.collect.doors)
        raise Refused(408, "request_timeout", "the body did not arrive") from None
    return b"".join(parts)


def _refusal(refused: Refused) -> Response:
    headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
    return Response(orjson.dumps({"error": refused.code, "message": refused.message}),
                    status_code=refused.status, media_type=JSON_TYPE, headers=headers)
