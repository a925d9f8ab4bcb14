"""The collection API over real HTTP on loopback, against a moto Kinesis endpoint."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from ingest.cli import main
from ingest.collect.app import Limits
from ingest.collect.keys import RELOAD_SECONDS
from tests.support.collector import Collector, collector_thread, events

pytestmark = pytest.mark.aws


@pytest.fixture()
def collector(kinesis_endpoint: str, tmp_path: Path) -> Collector:
    with collector_thread(kinesis_endpoint, tmp_path / "state",
                          Limits(max_body=64 * 1024, max_events=50, rate=5,
                                 burst=200)) as running:
        yield running  # type: ignore[misc]


def test_single_and_batch_posts_reach_the_stream_exactly(collector: Collector) -> None:
    sent = events(31)
    single = collector.post(sent[0])
    assert single.status_code == 200, single.text
    assert single.json() == {"accepted": 1, "rejected": 0,
                             "events": [{"index": 0, "status": "accepted"}]}
    batch = collector.post(b"\n".join(sent[1:21]))
    assert batch.json()["accepted"] == 20
    as_json = collector.post(json.dumps([json.loads(line) for line in sent[21:]]),
                             headers={"Content-Type": "application/json"})
    assert as_json.json()["accepted"] == 10
    on_stream = collector.stream_lines()
    assert on_stream == Counter(sent[:21]) + Counter(
        json.dumps(json.loads(line)).encode() for line in sent[21:])


def test_bad_events_are_rejected_with_the_stage_reason_and_go_on_to_the_quarantine(
        collector: Collector) -> None:
    good = events(2)
    bad = [b"garbage", b"[1, 2]", b'{"sessionId": 5, "ts": "late"}',
           b'{"ts": 1541121934796, "sessionId": 1, "itemInSession": 1, "page": "Home", '
           b'"userId": "1", "auth": "Logged In", "level": "free", "sessionId": 2}']
    answer = collector.post(b"\n".join([good[0], *bad, good[1]])).json()
    assert answer["accepted"] == 2 and answer["rejected"] == 4
    reasons = [event.get("reason") for event in answer["events"]]
    assert reasons[0] is None and reasons[5] is None
    assert reasons[1].startswith("not valid JSON: Expecting value")
    assert reasons[2] == "a JSON list, expected an object"
    assert reasons[3] == "required field 'itemInSession' is missing or null"
    assert reasons[4] == 'duplicate field "sessionId" in an object'
    # all on the stream: the consumer's stage quarantines the rejected ones (same rules)
    assert collector.stream_lines() == Counter([*good, *bad])


def test_keys_missing_wrong_and_revoked(collector: Collector,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    line = events(1)[0]
    for key, status, code in [("", 401, "missing_api_key"),
                              ("spk_12345678_" + "x" * 43, 401, "invalid_api_key"),
                              (collector.key[:-2] + "zz", 401, "invalid_api_key")]:
        response = collector.post(line, key=key)
        assert (response.status_code, response.json()["error"]) == (status, code)
    assert collector.post(line).status_code == 200
    assert main(["collect-key", "revoke", "--name", "tests"]) == 0
    time.sleep(RELOAD_SECONDS + 0.1)
    response = collector.post(line)
    unknown = collector.post(line, key="spk_12345678_" + "x" * 43)
    wrong_secret = collector.post(line, key=collector.key[:-2] + "zz")
    # revoked, unknown id, or wrong secret: one answer (no oracle of which ids exist)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_api_key")
    assert response.json() == unknown.json() == wrong_secret.json()
    assert main(["collect-key", "create", "--name", "next"]) == 0
    fresh = capsys.readouterr().out.strip().splitlines()[-1]
    time.sleep(RELOAD_SECONDS + 0.1)
    assert collector.post(line, key=fresh).status_code == 200
    assert sum(collector.stream_lines().values()) == 2


def test_limits_of_size_batch_type_and_rate(collector: Collector) -> None:
    big = collector.post(b"x" * (64 * 1024 + 1))
    assert (big.status_code, big.json()["error"]) == (413, "body_too_large")
    many = collector.post(b"\n".join(events(51)))
    assert (many.status_code, many.json()["error"]) == (413, "too_many_events")
    form = collector.post(b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (form.status_code, form.json()["error"]) == (415, "unsupported_media_type")
    broken = collector.post(b"[1,", headers={"Content-Type": "application/json"})
    assert (broken.status_code, broken.json()["error"]) == (400, "bad_body")
    # burst 200 at 5 events/s: four requests of 50 pass, then the bucket is empty
    statuses = [collector.post(b"\n".join(events(50, first=50 * n))).status_code
                for n in range(5)]
    assert statuses == [200] * 4 + [429], statuses
    limited = collector.post(b"\n".join(events(50)))
    assert (limited.status_code, limited.json()["error"]) == (429, "rate_limited")
    assert 5 <= int(limited.headers["Retry-After"]) <= 11
    assert sum(collector.stream_lines().values()) == 200


def test_health_metrics_and_openapi(collector: Collector) -> None:
    collector.post(b"\n".join([*events(3), b"garbage"]))
    collector.post(b"{}", key="")
    health = httpx.get(f"{collector.url}/healthz").json()
    assert health["status"] == "ok" and health["stream_available"] is True
    metrics = httpx.get(f"{collector.url}/metrics").text
    assert 'sparkify_collect_events_total{outcome="accepted"} 3.0' in metrics
    assert 'sparkify_collect_events_total{outcome="rejected"} 1.0' in metrics
    assert 'sparkify_collect_requests_total{status="401"} 1.0' in metrics
    assert "sparkify_collect_put_seconds_count 1.0" in metrics
    spec = httpx.get(f"{collector.url}/openapi.json").json()
    post = spec["paths"]["/v1/events"]["post"]
    assert {"application/x-ndjson", "application/json"} <= set(post["requestBody"]["content"])
    assert {"401", "408", "413", "429", "431", "503"} <= set(post["responses"])
    assert "403" not in post["responses"]
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
