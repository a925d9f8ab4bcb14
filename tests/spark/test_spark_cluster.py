"""The pipeline on a local Spark standalone cluster: a master and two workers, each a JVM.

Executors run in the workers' JVMs, not in the driver: the warehouse and landing must be on
a path they read, the driver's settings must reach them, shuffles cross processes. Every
command runs in its own process with SPARKIFY_SPARK_MASTER=standalone; the marts are
compared with the contract's pure-Python answer, which local mode gives
(tests/run/test_pipeline_e2e.py). Minutes each on 2 cores: `long` (make test-long).
The lifecycle test (start, status, stop, idempotence) needs no build and is not long.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingest.sample.generate import GenerateConfig, generate
from ingest.spark.cluster import ClusterFiles
from ingest.spark.processes import is_alive
from tests.support.cross_engine import assert_same_marts
from tests.support.kinesis import (
    FAKE_CREDENTIALS,
    REGION,
    create_stream,
    event_lines,
    kinesis,
    moto_endpoint,
    put_lines,
)
from tests.support.shared_metastore import (
    HANDWRITTEN_DAYS,
    SharedProject,
    copy_days,
    expected_marts,
    spark_project,
    tail,
    wait_for_line,
)
from tests.support.stream_marts import log_path, write_day

pytestmark = [pytest.mark.spark]
START = dt.date(2019, 7, 1)


@contextmanager
def cluster_project(root: Path, schema: str, **env: str) -> Iterator[SharedProject]:
    """A project whose Spark runs on its own two-worker cluster, stopped afterwards."""
    with spark_project(root, schema, conf=False, SPARKIFY_SPARK_MASTER="standalone",
                       **env) as project:
        project.run("cluster start", project.ingest_command("spark-cluster", "start"),
                    timeout=300)
        try:
            project.run("spark-conf", project.ingest_command("spark-conf"), timeout=300)
            yield project
        finally:
            project.run("cluster stop", project.ingest_command("spark-cluster", "stop"))


def _pid(project: SharedProject, daemon: str) -> int:
    return int(ClusterFiles.of(project.state).pid_file(daemon).read_text().strip())


def test_cluster_lifecycle(tmp_path: Path) -> None:
    """start waits for both workers; status says so; stop ends the three JVMs; both again
    are no-ops; a Spark command without a running cluster says how to start one."""
    with cluster_project(tmp_path / "project", "life") as project:
        shown = project.run("status", project.ingest_command("spark-cluster", "status"))
        assert "2 of 2 workers registered" in shown and "spark://127.0.0.1:" in shown
        pids = [_pid(project, daemon) for daemon in ("master", "worker-1", "worker-2")]
        assert all(is_alive(pid) for pid in pids)
        again = project.run("start again", project.ingest_command("spark-cluster", "start"))
        assert "already running" in again
    assert not any(is_alive(pid) for pid in pids)
    assert "no Spark cluster is running" in project.run(
        "stop again", project.ingest_command("spark-cluster", "stop"))
    process, log = project.start("status after", project.ingest_command("spark-cluster",
                                                                          "status"))
    assert process.wait(timeout=120) == 3
    process, log = project.start("stage without cluster", project.ingest_command(
        "stage", "--source", str(copy_days(tmp_path / "raw", HANDWRITTEN_DAYS))))
    assert process.wait(timeout=300) != 0
    text = log.read_text()
    assert "spark-cluster start" in text and "Traceback" not in text


@pytest.mark.long
def test_batch_next_day_and_stream_on_the_cluster(tmp_path: Path) -> None:
    """On two workers: `make run` on a first day, a `run --once` cycle with a second day, then
    `stream --once` of a third day from Kinesis (moto; the source's Python readers run in the
    executors): after each, the marts equal local mode's."""
    config = GenerateConfig(songs=30, days=3, events_per_day=120, seed=27,
                            start_date=START, known_song_share=0.7)
    full, raw = tmp_path / "full", tmp_path / "raw"
    generate(full, config)
    shutil.copytree(full / "song_data", raw / "song_data")
    days = [START + dt.timedelta(days=offset) for offset in range(3)]
    write_day(raw, days[0], event_lines(log_path(full, days[0])))
    with moto_endpoint() as endpoint, cluster_project(
            tmp_path / "project", "clustered", AWS_ENDPOINT_URL=endpoint, AWS_REGION=REGION,
            **FAKE_CREDENTIALS) as project:
        output = project.run("make run", project.ingest_command(
            "pipeline", "--source", str(raw), "--no-docs"))
        assert "spark://127.0.0.1:" in output, "the driver ran against the cluster"
        assert_same_marts({"local": expected_marts(raw), "cluster": project.marts()})
        executors = list(ClusterFiles.of(project.state).folder.glob("work-*/app-*/*"))
        assert {path.parts[-3] for path in executors} == {"work-1", "work-2"}, \
            "both workers ran executors"

        write_day(raw, days[1], event_lines(log_path(full, days[1])))
        project.run("cycle", project.ingest_command("run", "--once", "--source", str(raw)))
        assert_same_marts({"local": expected_marts(raw), "cluster": project.marts()})

        expected = tmp_path / "expected"
        shutil.copytree(raw, expected)
        streamed = event_lines(log_path(full, days[2]))
        client = kinesis(endpoint)
        create_stream(client, "events", shards=2)
        put_lines(client, "events", streamed)
        write_day(expected, days[2], streamed)
        project.run("stream", project.ingest_command(
            "stream", "--stream", "events", "--once", "--source", str(raw)))
        assert_same_marts({"local": expected_marts(expected), "cluster": project.marts()})


@pytest.mark.long
def test_a_worker_lost_mid_build(tmp_path: Path) -> None:
    """A worker (and its executors) killed while dbt builds: the build survives on the other
    worker or fails with a clear error; a rerun converges on the same marts."""
    raw = copy_days(tmp_path / "raw", HANDWRITTEN_DAYS)
    with cluster_project(tmp_path / "project", "lossy") as project:
        run, log = project.start("make run", project.ingest_command(
            "pipeline", "--source", str(raw), "--no-docs"))
        try:
            wait_for_line(log, "Concurrency:", run)  # dbt has started its build
            time.sleep(5)
            os.killpg(_pid(project, "worker-1"), signal.SIGKILL)  # the worker and executors
            code = run.wait(timeout=900)
        finally:
            if run.poll() is None:
                run.kill()
        text = log.read_text(errors="replace")
        if code != 0:
            assert "Traceback" not in text, tail(text)
            assert "error" in text.lower()
        project.run("rerun", project.ingest_command("pipeline", "--source", str(raw),
                                                    "--no-docs", "--rebuild"))
        assert_same_marts({"local": expected_marts(raw), "cluster": project.marts()})
