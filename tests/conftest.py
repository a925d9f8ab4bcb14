"""Shared fixtures: a moto S3 endpoint on loopback and one embedded Spark for the session.

Every Spark test shares one JVM (pyspark keeps one per process) whose warehouse and
metastore live in a temporary state folder, so the suite never touches the user's `.state`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def session_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state folder and Spark conf for the whole test session (set before any JVM starts)."""
    from ingest.paths import StatePaths
    from ingest.spark_conf import write_spark_conf

    root = tmp_path_factory.mktemp("state")
    saved = {key: os.environ.get(key) for key in ("SPARKIFY_STATE_DIR", "SPARK_CONF_DIR")}
    os.environ["SPARKIFY_STATE_DIR"] = str(root)
    os.environ["SPARK_CONF_DIR"] = str(write_spark_conf(StatePaths(root), root / "spark-conf"))
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def spark(session_state: Path) -> Any:
    from ingest.paths import StatePaths
    from ingest.spark import spark_session

    return spark_session(StatePaths(session_state))


@pytest.fixture()
def s3_endpoint() -> Iterator[str]:
    """A fresh moto S3 server on 127.0.0.1 with an empty bucket `raw-bucket`."""
    from ingest.local_s3 import local_s3

    with local_s3("raw-bucket") as endpoint:
        yield endpoint
