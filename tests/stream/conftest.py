"""Stream fixtures: a moto server on loopback (S3 and Kinesis) and a private state folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def aws(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The moto endpoint (boto3 points every service at it); state (checkpoints, locks) in
    `tmp_path/state`."""
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    for name in ("SPARKIFY_STREAM", "SPARKIFY_DELIVER_TO", "SPARKIFY_SOURCE"):
        monkeypatch.delenv(name, raising=False)
    return s3_endpoint
