"""Shared fixtures: a moto S3 endpoint on loopback and one embedded Spark for the session.

Every Spark test shares one JVM (pyspark keeps one per process) whose warehouse and
metastore live in a temporary state folder, so the suite never touches the user's `.state`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# pyspark turns timestamps into naive datetimes in the process's local zone: make it UTC.
os.environ["TZ"] = "UTC"
time.tzset()



# A test that takes one of these fixtures needs what the marker names (pyproject.toml);
# `make test-fast` deselects them all (and the `dbt` and `faults` ones). Tests that start
# such a thing themselves carry the marker in their module's pytestmark.
FIXTURE_MARKS = {"session_state": "spark", "spark": "spark", "pg_database": "postgres",
                 "s3_endpoint": "aws", "pg_marts": "postgres", "pg_settings": "postgres"}


ENGINE_PARAMS = ("spark", "postgres")


# `make test` runs the suite on pytest-xdist workers (`-n 3 --dist loadgroup`): most tests
# wait (for a JVM, dbt's Python, moto, a subprocess) more than they compute. A group runs on
# one worker, one test after the other: by default a test's module (its module-scoped
# fixtures, such as a generated data set or a built warehouse, are built once); these folders
# share session-scoped fixtures across their modules and are one group each.
SHARED_FIXTURE_FOLDERS = ("tests/report/",)


def pytest_configure(config: pytest.Config) -> None:
    """The long-lived Spark drivers the tests start (Thrift Servers, streams) live minutes:
    they compile as a command's do, not with C2 (most of their CPU otherwise: BENCHMARKS.md).
    On an xdist worker: its own dbt target and log folders and its own default state folder
    (another worker's dbt writes the same files; Derby admits one JVM per metastore)."""
    from ingest.setting_base import env_names
    from ingest.settings import SparkSettings

    fields = SparkSettings.model_fields
    os.environ.setdefault(env_names(fields["server_java_options"])[0],
                          str(fields["java_options"].default))
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        from tests.support.project import PROJECT_DIR

        own = PROJECT_DIR / "target" / "xdist" / worker
        os.environ["DBT_TARGET_PATH"] = str(own / "target")
        os.environ["DBT_LOG_PATH"] = str(own / "logs")
        os.environ["SPARKIFY_STATE_DIR"] = str(own / "state")


def xdist_group(nodeid: str) -> str:
    """The group of a test (its module, or the folder of SHARED_FIXTURE_FOLDERS it is in)."""
    path = nodeid.split("::", 1)[0]
    return next((folder for folder in SHARED_FIXTURE_FOLDERS if path.startswith(folder)), path)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by the fixtures a test takes, and by an engine it is parametrized with; put each
    test in its xdist group unless it names one."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(xdist_group(item.nodeid)))
        fixtures = getattr(item, "fixturenames", ())
        marks = {mark for fixture, mark in FIXTURE_MARKS.items() if fixture in fixtures}
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            marks.update(value for value in callspec.params.values()
                         if isinstance(value, str) and value in ENGINE_PARAMS)
        for mark in sorted(marks):
            item.add_marker(mark)


@pytest.fixture(scope="session")
def session_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state folder and Spark conf for the whole test session (set before any JVM starts)."""
    from ingest.paths import StatePaths
    from ingest.spark.conf import write_spark_conf
    from tests.support.project import spark_setup

    root = tmp_path_factory.mktemp("state")
    saved = {key: os.environ.get(key) for key in ("SPARKIFY_STATE_DIR", "SPARK_CONF_DIR")}
    os.environ["SPARKIFY_STATE_DIR"] = str(root)
    os.environ["SPARK_CONF_DIR"] = str(write_spark_conf(StatePaths(root), spark_setup(),
                                                        root / "spark-conf"))
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def _session_state_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test on the session's state sees it in the environment, whatever an earlier test did
    to SPARKIFY_STATE_DIR (commands such as `main(["stream", …])` read it from there)."""
    if "session_state" in request.fixturenames:
        root: Path = request.getfixturevalue("session_state")
        monkeypatch.setenv("SPARKIFY_STATE_DIR", str(root))
        monkeypatch.setenv("SPARK_CONF_DIR", str(root / "spark-conf"))


@pytest.fixture(scope="session")
def spark(session_state: Path) -> Any:
    """The session of a small state (ingest.spark.small_inputs). The JVM starts with fake
    AWS credentials unless some are set: Spark's Python workers (the Kinesis source's
    readers, talking to moto) get the environment it started with."""
    from ingest.paths import StatePaths
    from ingest.spark.session import spark_session
    from ingest.spark.small_inputs import use_small_inputs
    from tests.support.kinesis import FAKE_CREDENTIALS
    from tests.support.project import spark_setup

    added = {key: value for key, value in FAKE_CREDENTIALS.items() if key not in os.environ}
    os.environ.update(added)
    try:
        session = spark_session(StatePaths(session_state), spark_setup())
        # the tests' data is a few megabytes: the settings a small state's builds take
        use_small_inputs(session, StatePaths(session_state))
        return session
    finally:
        for key in added:
            os.environ.pop(key, None)


@pytest.fixture()
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh moto S3 server on 127.0.0.1 with an empty bucket `raw-bucket`; the test's
    environment points the AWS chain at it (local_s3 itself leaves the environment alone)."""
    from ingest.sample.local_s3 import local_s3

    with local_s3("raw-bucket") as endpoint:
        for name, value in {"AWS_ACCESS_KEY_ID": endpoint.access_key,
                            "AWS_SECRET_ACCESS_KEY": endpoint.secret_key,
                            "AWS_DEFAULT_REGION": endpoint.region, "AWS_REGION": endpoint.region,
                            "AWS_ENDPOINT_URL": endpoint.url}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield endpoint.url


@pytest.fixture()
def pg_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database on the local PostgreSQL server, dropped afterwards."""
    from tests.support.project import throwaway_database

    with throwaway_database() as name:
        monkeypatch.setenv("SPARKIFY_PG_DATABASE", name)
        yield name
