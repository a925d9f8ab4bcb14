"""The collector's doors: what a connection may cost before the app sees a request.

uvicorn serves the app over h11 (`GuardedH11Protocol`, a subclass of uvicorn's own h11
protocol), with these limits:

- request headers: at most `max_header_bytes` (h11's own limit on an incomplete event,
  answered 431 instead of uvicorn's 400) and at most `max_headers` of them (431);
- time: the head of a request must arrive within `header_timeout` seconds of the connection
  (or of the previous response), its body within `body_timeout` seconds of the head: a
  client that trickles either is answered 408 and closed;
- connections: at most `max_connections`. One more closes the oldest idle one (no request in
  progress: an idle keep-alive, or a head still trickling in); when none is idle the new one
  is answered 503 and closed.

Every refusal is the app's JSON error body (`{"error": ..., "message": ...}`) and closes the
connection; none is logged with a stack trace.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

_REASONS = {408: "Request Timeout", 431: "Request Header Fields Too Large",
            503: "Service Unavailable", 400: "Bad Request"}


@dataclass(frozen=True)
class Doors:
    """The limits of `GuardedH11Protocol`."""

    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_connections: int = 128


def refusal(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection."""
    body = orjson.dumps({"error": code, "message": message})
    head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header, time and connection limits (`doors`)."""

    doors: ClassVar[Doors] = Doors()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = _HeaderLimits(self.app, self.doors)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = ""
        self._opened = 0.0

    # --- connections -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._opened = self.loop.time()
        if len(self.connections) > self.doors.max_connections:
            idle = [other for other in self.connections
                    if other is not self and isinstance(other, GuardedH11Protocol)
                    and other.idle() and not other.transport.is_closing()]
            if not idle:
                self._refuse(503, "too_many_connections", "the collector has "
                             f"{self.doors.max_connections} connections busy: retry later")
                return
            min(idle, key=lambda other: other._opened).transport.close()
        self._track()

    def idle(self) -> bool:
        """No request in progress: the app has nothing of this connection to answer."""
        return self.cycle is None or self.cycle.response_complete

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # --- requests --------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track()

    def send_400_response(self, msg: str) -> None:
        """h11 refused the request: its head over the size limit (431: the head still coming
        in, so it is never read whole), or not HTTP (400)."""
        buffered = len(self.conn.trailing_data[0])
        if buffered > self.doors.max_header_bytes:
            self._refuse(431, "headers_too_large", "request headers over the limit of "
                         f"{self.doors.max_header_bytes} bytes")
        else:
            self._refuse(400, "bad_request", "not a valid HTTP/1.1 request")

    # --- deadlines -------------------------------------------------------------------------

    def _track(self) -> None:
        """Arm the deadline of what the client owes now: a head, a body, or nothing."""
        if self.transport.is_closing():
            self._disarm()
            return
        state = self.conn.their_state
        phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else ""
        if phase == self._phase:
            return
        self._disarm()
        self._phase = phase
        if phase:
            seconds = (self.doors.header_timeout if phase == "head"
                       else self.doors.body_timeout)
            self._deadline = self.loop.call_later(seconds, self._too_slow, phase)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._phase = None, ""

    def _too_slow(self, phase: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()
            return
        seconds = self.doors.header_timeout if phase == "head" else self.doors.body_timeout
        self._refuse(408, "request_timeout", f"the request {phase} did not arrive within "
                     f"{seconds:g} s")

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._disarm()
        self.transport.write(refusal(status, code, message))
        self.transport.close()


class _HeaderLimits:
    """ASGI: a request with more than `count` headers, or more than `size` bytes of them (a
    head that came whole in one read, which h11's limit on an incomplete one does not see),
    is answered 431 before the app runs."""

    def __init__(self, app: Any, doors: Doors) -> None:
        self.app, self.doors = app, doors

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        size = sum(len(name) + len(value) + 4 for name, value in headers)
        if len(headers) > self.doors.max_headers:
            code, message = "too_many_headers", (f"{len(headers)} request headers, over the "
                                                 f"limit of {self.doors.max_headers}")
        elif size > self.doors.max_header_bytes:
            code, message = "headers_too_large", (f"request headers of {size} bytes, over "
                                                  f"the limit of {self.doors.max_header_bytes}")
        else:
            await self.app(scope, receive, send)
            return
        body = orjson.dumps({"error": code, "message": message})
        await send({"type": "http.response.start", "status": 431, "headers": [
            (b"content-type", b"application/json"), (b"connection", b"close"),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def guarded_protocol(doors: Doors) -> type[GuardedH11Protocol]:
    """The protocol class for uvicorn.Config(http=...) with these limits."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"doors": doors})


def uvicorn_options(doors: Doors) -> dict[str, Any]:
    """uvicorn.Config keywords for these doors (the h11 protocol and its own size limit)."""
    return {"http": guarded_protocol(doors), "h11_max_incomplete_event_size":
            doors.max_header_bytes, "limit_concurrency": None}
