"""Collector fixtures: a moto Kinesis endpoint on loopback, fake credentials, a private state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kinesis import local_kinesis


@pytest.fixture()
def kinesis_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh moto server; boto3 points at it; the state folder is `tmp_path/state`."""
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    for name in ("SPARKIFY_STREAM", "SPARKIFY_COLLECT_API_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with local_kinesis(monkeypatch) as endpoint:
        yield endpoint
