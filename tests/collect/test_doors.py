"""The collector's doors, over real sockets against `python -m ingest collect` in its own
process: a slow client, a huge header, too many headers and 200 idle connections are refused
or timed out while a normal client is served; a wrong secret costs no scrypt; a damaged key
file is a 503 with one line in the log, not a traceback per request."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.collect.keys import Check, KeyStore
from tests.support.collector import Collector, collector_process, events

pytestmark = pytest.mark.aws


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    from tests.support.kinesis import FAKE_CREDENTIALS, REGION, moto_endpoint

    state = tmp_path_factory.mktemp("doors") / "state"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {**FAKE_CREDENTIALS, "AWS_REGION": REGION,
                           "SPARKIFY_STATE_DIR": str(state)}.items():
            patch.setenv(key, value)
        patch.delenv("SPARKIFY_STREAM", raising=False)
        with moto_endpoint() as endpoint, collector_process(
                endpoint, state, "--header-timeout", "2", "--body-timeout", "3",
                "--max-connections", "50") as (_process, running):
            running.log = state / "collector.log"  # type: ignore[attr-defined]
            yield running


def _connect(collector: Collector) -> socket.socket:
    host, port = collector.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _answer(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass
    return received


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def _served(collector: Collector) -> float:
    """A normal client's POST: its time to a 200."""
    started = time.monotonic()
    response = collector.post(events(1)[0])
    assert response.status_code == 200, response.text
    return time.monotonic() - started


def test_a_slow_head_and_a_slow_body_are_timed_out_while_others_are_served(
        collector: Collector) -> None:
    head = _connect(collector)
    head.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\n")
    body = _connect(collector)
    body.sendall(f"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-API-Key: {collector.key}\r\n"
                 "Content-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{"
                 .encode())
    started = time.monotonic()
    for _ in range(4):  # a byte a second: never finishes in time
        time.sleep(0.5)
        head.sendall(b"X")
        body.sendall(b" ")
        _served(collector)
    slow_head, slow_body = _answer(head), _answer(body)
    waited = time.monotonic() - started
    assert _status(slow_head) == 408, slow_head
    assert json.loads(slow_head.split(b"\r\n\r\n", 1)[1])["error"] == "request_timeout"
    assert _status(slow_body) == 408, slow_body
    assert waited < 10  # dropped at the deadlines (2 s and 3 s), not held


def test_a_huge_header_and_too_many_headers_get_431_without_being_read_whole(
        collector: Collector) -> None:
    sock = _connect(collector)
    sock.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-Big: ")
    sent = 0
    try:
        for _ in range(64 * 16):  # up to 64 MiB, in 64 KiB pieces
            sock.sendall(b"a" * 65536)
            sent += 65536
    except (ConnectionResetError, BrokenPipeError):
        pass
    answer = _answer(sock)
    assert sent < 64 * 1024 * 1024  # refused long before the end
    assert _status(answer) == 431 or answer == b"", answer[:200]
    small = _connect(collector)
    small.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 +
                  b"\r\n\r\n")
    big_answer = _answer(small)
    assert _status(big_answer) == 431, big_answer[:200]
    assert json.loads(big_answer.split(b"\r\n\r\n", 1)[1])["error"] == "headers_too_large"
    many = httpx.get(f"{collector.url}/healthz",
                     headers={f"X-H{number}": "1" for number in range(150)})
    assert (many.status_code, many.json()["error"]) == (431, "too_many_headers")
    _served(collector)


def test_200_idle_connections_are_not_all_held_and_a_real_client_is_served(
        collector: Collector) -> None:
    idle = [_connect(collector) for _ in range(200)]
    try:
        time.sleep(0.5)
        _served(collector)
        closed = 0
        for sock in idle:
            sock.settimeout(0.01)
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed += 1
        assert closed >= 150, closed  # at most --max-connections 50 held
    finally:
        for sock in idle:
            sock.close()
    _served(collector)


def test_wrong_secrets_for_a_real_key_id_cost_no_scrypt(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    _key, text = store.create("app")
    server = KeyStore(store.path)
    for number in range(50):
        wrong = text[:-6] + f"{number:06d}"
        assert server.cached(wrong) is Check.UNKNOWN  # refused before any scrypt
    assert server.cached(text) is None  # the real one is checked (once) with scrypt
    assert server.verify(text) is Check.OK
    assert server.cached(text) is Check.OK


def test_a_damaged_key_file_is_a_503_and_one_line_in_the_log(collector: Collector) -> None:
    path = collector.keys.path
    good = path.read_text()
    path.write_text('{"keys": [{"key_id": ')
    try:
        time.sleep(1.2)
        answers = [collector.post(events(1)[0]) for _ in range(5)]
        assert {answer.status_code for answer in answers} == {503}
        assert answers[0].json()["error"] == "api_keys_unavailable"
        assert "Retry-After" in answers[0].headers
    finally:
        path.write_text(good)
    time.sleep(1.2)
    _served(collector)
    log = collector.log.read_text()  # type: ignore[attr-defined]
    assert "Traceback" not in log
    assert log.count("is damaged") == 1, log
