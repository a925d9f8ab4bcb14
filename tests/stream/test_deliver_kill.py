"""`deliver` killed with SIGKILL while it writes, then started again: every event once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ingest.cli import main
from tests.stream.support import lines_of, local_objects, source_lines, write_handwritten
from tests.support.project import PROJECT_DIR


def _deliver(out: Path, *options: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    return subprocess.Popen([sys.executable, "-m", "ingest", "deliver", "--stream", "events",
                             "--to", str(out), *options], env=env, cwd=PROJECT_DIR,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_objects(out: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if (out / "log_data").is_dir() and len(local_objects(out)) >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"deliver wrote fewer than {count} objects in time")


def test_kill_9_mid_delivery_then_restart(aws: str, tmp_path: Path) -> None:
    write_handwritten(tmp_path / "src", events_per_day=500)
    expected = source_lines(tmp_path / "src")
    assert main(["produce", "--stream", "events", "--source", str(tmp_path / "src"),
                 "--shards", "2"]) == 0
    out = tmp_path / "out"

    process = _deliver(out, "--max-records", "4")
    _wait_for_objects(out, 10, process)
    process.send_signal(signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL
    delivered = lines_of(local_objects(out))
    assert 0 < sum(delivered.values()) < len(expected), "killed mid-way"

    assert main(["deliver", "--stream", "events", "--to", str(out), "--once",
                 "--max-records", "50"]) == 0

    assert lines_of(local_objects(out)) == lines_of({"all": b"\n".join(expected)})
    assert not list(out.rglob(".deliver-*")), "no temporary file is left behind"


def test_sigterm_stops_cleanly_after_writing_its_buffers(aws: str, tmp_path: Path) -> None:
    expected = write_handwritten(tmp_path / "src", events_per_day=30)
    assert main(["produce", "--stream", "events", "--source", str(tmp_path / "src")]) == 0
    out = tmp_path / "out"

    process = _deliver(out, "--max-records", "1000", "--max-seconds", "600")
    assert process.stderr is not None
    for line in process.stderr:  # wait until it has read everything into its buffer
        if b"read to its latest record (" in line:
            break
    process.send_signal(signal.SIGTERM)
    stderr = process.communicate(timeout=20)[1]
    assert process.returncode == 0, stderr.decode()
    assert b"SIGTERM: stopping after the current buffers are written" in stderr
    assert lines_of(local_objects(out)) == lines_of({"all": b"\n".join(expected)})
