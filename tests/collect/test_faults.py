"""Faults under load: the stream endpoint gone and back (503s, then recovery), and SIGTERM of
the collector's process (a drain): every event answered 200 is on the stream exactly once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bench.collect.load import LoadPlan, LoadResult, run_load
from tests.support.collector import collector_process, collector_thread, events

pytestmark = [pytest.mark.aws, pytest.mark.faults]
ACCEPTED, REQUESTS = "sparkify_collect_events_total", "sparkify_collect_requests_total"


def _load_in_background(plan: LoadPlan, lines: list[bytes]) -> tuple[threading.Thread,
                                                                      list[LoadResult]]:
    results: list[LoadResult] = []
    thread = threading.Thread(target=lambda: results.append(run_load(plan, lines)))
    thread.start()
    return thread, results


def test_stream_endpoint_down_gives_503_and_nothing_accepted_is_lost(
        kinesis_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.server import ThreadedMotoServer

    # a second moto server of the same process (same backends: the stream survives its stop)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    with collector_thread(kinesis_endpoint, tmp_path / "state") as collector:
        lines = events(400)
        done = threading.Event()
        plan = LoadPlan(collector.url, collector.key, clients=4, batch=20, seconds=120.0,
                        until=done)
        thread, results = _load_in_background(plan, lines)
        collector.wait_for(ACCEPTED, 0, outcome="accepted")  # the load is flowing
        moto.stop()
        down = collector.post(lines[0])
        assert down.status_code == 503, down.text
        assert down.json()["error"] == "stream_unavailable"
        assert int(down.headers["Retry-After"]) >= 1
        assert httpx.get(f"{collector.url}/healthz").json()["stream_available"] is False
        collector.wait_for(REQUESTS, 1, status="503")  # the clients' 503s beside ours
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        before = collector.metric(ACCEPTED, outcome="accepted")
        collector.wait_for(ACCEPTED, before, outcome="accepted")  # accepting again
        done.set()
        thread.join(60)
        result = results[0]
        time.sleep(1.2)  # past the cool-down of any put the clients' last requests failed
        assert collector.post(lines[1]).status_code == 200
        try:
            assert set(result.statuses) == {"200", "503"}, result.statuses
            assert result.accepted > 0 and result.statuses["503"] > 0
            assert collector.stream_lines() == result.delivered + Counter([lines[1]])
        finally:
            moto.stop()


def test_sigterm_under_load_drains_every_accepted_event(kinesis_endpoint: str,
                                                        tmp_path: Path) -> None:
    with collector_process(kinesis_endpoint, tmp_path / "state") as (process, collector):
        done = threading.Event()
        plan = LoadPlan(collector.url, collector.key, clients=10, batch=20, seconds=120.0,
                        until=done)
        thread, results = _load_in_background(plan, events(1000))
        collector.wait_for(ACCEPTED, 100, outcome="accepted")  # well under way
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, (tmp_path / "state" / "collector.log").read_text()
        done.set()
        thread.join(60)
        result = results[0]
        assert result.accepted > 100, result.summary()
        assert not set(result.statuses) - {"200", "ConnectError", "RemoteProtocolError",
                                           "ReadError", "503"}, result.statuses
        assert set(result.statuses) - {"200"}, result.statuses  # still posting at the stop
        assert collector.stream_lines() == result.delivered
        log = (tmp_path / "state" / "collector.log").read_text()
        assert "collector stopped: every accepted event is on stream" in log
