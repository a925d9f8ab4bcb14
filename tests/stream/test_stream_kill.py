"""`python -m ingest stream --once` killed with SIGKILL once it has landed a micro-batch, then
run again: every event is in the landing once, and the marts are the contract's.

The query runs in its own process (its own JVM and Derby metastore, in a private state
folder), killed as a process group once its first micro-batch has landed, before the build
after it: Spark has not committed that batch, so the restart replays it (the ledger loads
nothing twice, and the build it missed runs) and reads the rest.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from ingest.paths import StatePaths
from ingest.sample.generate import GenerateConfig, generate
from ingest.spark.conf import write_spark_conf
from tests.support.expected_marts import build_expected_marts
from tests.support.kinesis import (
    FAKE_CREDENTIALS,
    REGION,
    create_stream,
    event_lines,
    kinesis,
    moto_endpoint,
    put_lines,
)
from tests.support.project import PROJECT_DIR, spark_setup
from tests.support.staging import land, landing_of

# two Spark processes and two dbt builds (about 90 s): a fault test, in make test
pytestmark = [pytest.mark.spark, pytest.mark.aws, pytest.mark.faults]
DAY = dt.date(2019, 6, 1)  # the batch source holds this day, the stream the next
LANDED = b"landed in kill_raw.log_data"  # the log line of a micro-batch landed


def _stream(env: dict[str, str], source: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "stream", "--stream", "events", "--once",
         "--source", str(source), "--raw-schema", "kill_raw", "--schema", "kill",
         "--max-records", "100"],
        env=env, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)  # its own process group: the JVM and its Python workers


def _kill_once_landed(process: subprocess.Popen[bytes]) -> bytes:
    assert process.stderr is not None
    seen = b""
    for line in process.stderr:
        seen += line
        if LANDED in line:
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait(30)
    assert process.returncode == -signal.SIGKILL, seen.decode(errors="replace")
    return seen


def _landed_events(landing: Path) -> Counter[tuple[object, ...]]:
    table = ds.dataset(landing / "verified" / "log_data", format="parquet",
                       partitioning="hive").to_table(columns=["ts", "sessionId", "itemInSession"])
    return Counter(zip(*(table.column(name).to_pylist() for name in table.column_names),
                       strict=True))


def test_kill_9_mid_stream_then_restart_lands_and_builds_every_event_once(
        tmp_path: Path) -> None:
    full, source, state_dir = tmp_path / "full", tmp_path / "source", tmp_path / "state"
    generate(full, GenerateConfig(songs=30, days=2, events_per_day=150, seed=11,
                                  start_date=DAY, known_song_share=0.7, duplicate_share=0,
                                  blank_line_share=0))
    first, second = sorted((full / "log_data").rglob("*.json"))
    shutil.copytree(full / "song_data", source / "song_data")
    (source / first.relative_to(full)).parent.mkdir(parents=True)
    shutil.copy(first, source / first.relative_to(full))
    state = StatePaths(state_dir)
    land(str(source), state)  # the batch source lands; the stream registers its tables
    landing = landing_of(state, str(source))
    staged, lines = len(event_lines(first)), event_lines(second)
    env = {**os.environ, **FAKE_CREDENTIALS, "AWS_REGION": REGION, "TZ": "UTC",
           "PYTHONPATH": str(PROJECT_DIR), "SPARKIFY_STATE_DIR": str(state_dir),
           "SPARK_CONF_DIR": str(write_spark_conf(state, spark_setup(),
                                                   state_dir / "spark-conf"))}

    with moto_endpoint() as endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
        client = kinesis(endpoint)
        create_stream(client, "events", shards=2)
        put_lines(client, "events", lines)

        _kill_once_landed(_stream(env, source))
        landed = _landed_events(landing)
        assert 0 < sum(landed.values()) - staged < len(lines), "killed mid-way"
        assert set(landed.values()) == {1}

        rerun = _stream(env, source)
        stderr = rerun.communicate(timeout=600)[1].decode(errors="replace")
        assert rerun.returncode == 0, stderr[-3000:]
        assert "micro-batch 0 was not committed" in stderr
        # a normal log has no stack trace (the metastore logged an AlreadyExistsException
        # stack at every micro-batch's `create database if not exists`)
        stack = [line for line in stderr.splitlines()
                 if "Exception" in line or re.match(r"\s+at [\w$.<>]+\(", line)]
        assert not stack, "\n".join(stack[:20])

    landed = _landed_events(landing)
    assert sum(landed.values()) == len(landed) == staged + len(lines), "every event once"
    expected = build_expected_marts(full, PROJECT_DIR / "seeds" / "us_states.csv")
    plays = ds.dataset(state.warehouse / "kill.db" / "fct_songplays",
                       format="parquet").to_table(columns=["songplay_id"]).column(0).to_pylist()
    assert sorted(plays) == sorted(row["songplay_id"] for row in expected["fct_songplays"])
