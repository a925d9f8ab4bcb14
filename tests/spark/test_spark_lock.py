"""One embedded Spark per state folder: a `run` and a `stream` take turns, with a bounded wait.

Derby admits one JVM per metastore. The second command waits for the first (the log says
for whom) and goes on when it ends, or stops with one line once SPARKIFY_SPARK_LOCK_WAIT
has passed, before its JVM starts: a stream lands nothing, a cycle builds nothing. The
other command is a real process holding the lock through the same core (ingest.locks), so
these tests start no JVM.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingest.cli import main
from ingest.errors import EXIT_BUSY
from ingest.locks import Busy
from ingest.paths import StatePaths
from ingest.spark.session import claim_metastore
from tests.support.project import PROJECT_DIR, copy_handwritten

HOLDER = """
import sys, time
from pathlib import Path
from ingest.paths import StatePaths
from ingest.locks import hold_until_exit, lock_path
state = StatePaths(Path(sys.argv[1]))
hold_until_exit(lock_path(state.locks, "spark", str(state.metastore)),
                f"the embedded Spark of {state.root} (ingest run --once)", timeout=0)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@contextmanager
def spark_held(state: StatePaths, seconds: float = 60) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the state folder's Spark lock for `seconds`."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(state.root), str(seconds)],
                              cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait(10)


def _fresh_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.locks

    monkeypatch.setattr(ingest.locks, "_HELD_FOR_LIFE", {})


def test_a_second_spark_waits_for_the_first_and_goes_on_when_it_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    _fresh_claims(monkeypatch)
    state = StatePaths(tmp_path / "state")
    with spark_held(state, seconds=1.5) as holder, caplog.at_level(logging.INFO):
        started = time.monotonic()
        claim_metastore(state, 30)
        waited = time.monotonic() - started
        assert holder.wait(10) == 0, "the holder ended by itself"
    assert waited >= 0.5
    assert f"waiting for pid {holder.pid}: the embedded Spark of {state.root} " \
           "(ingest run --once) to finish, at most 30 s" in caplog.text


def test_past_the_wait_a_second_spark_stops_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_claims(monkeypatch)
    state = StatePaths(tmp_path / "state")
    with spark_held(state) as holder, pytest.raises(Busy) as raised:
        claim_metastore(state, 1)
    assert f"pid {holder.pid}: the embedded Spark of {state.root} (ingest run --once) still " \
           "holds" in str(raised.value)
    assert "after 1 s of waiting" in str(raised.value)


def test_a_cycle_on_a_busy_state_folder_stops_before_its_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """`run --once` while a `stream` holds Spark: the stage lands (the landing has its own
    lock, which a stream's micro-batch takes too), the build does not start, the cycle
    fails with one line and exit 1; the next cycle builds what was landed."""
    _fresh_claims(monkeypatch)
    state = StatePaths(tmp_path / "state")
    raw = copy_handwritten(tmp_path)
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(state.root))
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "spark-conf"))  # not the venv's
    monkeypatch.setenv("SPARKIFY_SPARK_LOCK_WAIT", "1")
    with spark_held(state), caplog.at_level(logging.INFO):
        code = main(["run", "--once", "--target", "spark", "--source", str(raw)])
    assert code == 1
    failed = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(failed) == 1 and "still holds" in failed[0], failed
    assert "Traceback" not in caplog.text
    assert not (state.root / "builds").exists(), "no build was recorded"


@pytest.mark.aws
def test_a_stream_on_a_busy_state_folder_lands_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.kinesis import create_stream, kinesis, local_kinesis, put_lines
    from tests.support.raw_lines import good_event

    _fresh_claims(monkeypatch)
    state = StatePaths(tmp_path / "state")
    raw = copy_handwritten(tmp_path)
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(state.root))
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "spark-conf"))  # not the venv's
    monkeypatch.setenv("SPARKIFY_SPARK_LOCK_WAIT", "1")
    with local_kinesis(monkeypatch) as endpoint:
        client = kinesis(endpoint)
        create_stream(client, "events", shards=1)
        put_lines(client, "events", [good_event(dt.date(2018, 11, 3), n) for n in range(5)])
        with spark_held(state):
            code = main(["stream", "--stream", "events", "--once", "--source", str(raw)])
    assert code == EXIT_BUSY
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "still holds" in errors[0], errors
    assert not state.landing.exists() or not any(state.landing.rglob("*.parquet")), (
        "the stream landed rows it could not build")
