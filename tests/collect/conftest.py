"""Collector fixtures: a moto Kinesis endpoint on loopback, fake credentials, a private state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kinesis import FAKE_CREDENTIALS, REGION, moto_endpoint


@pytest.fixture()
def kinesis_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh moto server; boto3 points at it; the state folder is `tmp_path/state`."""
    for key, value in {**FAKE_CREDENTIALS, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    for name in ("SPARKIFY_STREAM", "SPARKIFY_COLLECT_API_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with moto_endpoint() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        yield endpoint
