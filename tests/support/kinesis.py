"""A moto Kinesis endpoint on loopback, and events put on a stream with boto3."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

REGION = "us-west-2"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-testing",
                    "AWS_SECRET_ACCESS_KEY": "local-testing"}


# the running moto server of each endpoint moto_endpoint gave (outage() replaces it)
_SERVERS: dict[str, Any] = {}


@contextmanager
def moto_endpoint() -> Iterator[str]:
    """A fresh moto server (every service) on a free loopback port; its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    _SERVERS[endpoint] = server
    try:
        yield endpoint
    finally:
        _SERVERS.pop(endpoint).stop()


def outage(endpoint: str, seconds: float) -> None:
    """The endpoint of moto_endpoint goes away for `seconds`, then comes back on the same
    port with the same data (moto keeps its backends in this process, not in the server)."""
    from moto.server import ThreadedMotoServer

    server = _SERVERS[endpoint]
    host, port = server.get_host_and_port()
    server.stop()
    time.sleep(seconds)
    _SERVERS[endpoint] = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    _SERVERS[endpoint].start()


@contextmanager
def local_kinesis(monkeypatch: Any) -> Iterator[str]:
    """A fresh moto server, with boto3 pointed at it by the environment (fake credentials,
    the region, AWS_ENDPOINT_URL) through `monkeypatch`."""
    for key, value in {**FAKE_CREDENTIALS, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    with moto_endpoint() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        yield endpoint


def kinesis(endpoint: str) -> Any:
    import boto3

    return boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="local-testing", aws_secret_access_key="local-testing")


def create_stream(client: Any, name: str, shards: int = 2) -> None:
    client.create_stream(StreamName=name, ShardCount=shards)


def put_lines(client: Any, stream: str, lines: Iterable[str]) -> int:
    """Each line as one record (500 a call), keyed so that they spread over the shards."""
    batch: list[dict[str, Any]] = []
    count = 0
    for number, line in enumerate(lines):
        batch.append({"Data": line.encode("utf-8"), "PartitionKey": f"key-{number % 97}"})
        if len(batch) == 500:
            count += _put(client, stream, batch)
            batch = []
    return count + (_put(client, stream, batch) if batch else 0)


def _put(client: Any, stream: str, batch: list[dict[str, Any]]) -> int:
    response = client.put_records(StreamName=stream, Records=batch)
    assert response.get("FailedRecordCount", 0) == 0, response
    return len(batch)


def event_lines(path: os.PathLike[str] | str) -> list[str]:
    """The events of a log file, one JSON text each (blank lines left out)."""
    with open(path, encoding="utf-8") as body:
        return [line for line in body.read().split("\n") if line.strip()]


def as_line(event: dict[str, Any]) -> str:
    return json.dumps(event)
