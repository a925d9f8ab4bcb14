"""`airflow standalone` as `make airflow-up` starts it (orchestration/airflow/standalone.sh):
healthy on 127.0.0.1, `sparkify_daily` triggered through the REST API runs to success on
Postgres from the generated sample, its grid view photographed with headless Chromium, and
`down` stops every process that `up` started."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.airflow import requires_airflow
from tests.support.browser import chrome_session, save_screenshot
from tests.support.project import PROJECT_DIR, postgres_rows

# about 2.5 minutes with a dbt process per node, 107 s with Cosmos's watcher mode (start
# 20-30 s, then the run): near the two minutes the issue allows in `make test`, so it stays
# `long` (make test-long)
pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.browser,
              pytest.mark.long, requires_airflow]
SCRIPT = PROJECT_DIR / "orchestration" / "airflow" / "standalone.sh"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(url: str, token: str | None = None, method: str = "GET",
         body: dict[str, Any] | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body else None)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def wait_for(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(2)
    pytest.fail(f"{what}: not within {timeout:.0f} s")


def test_standalone_runs_the_daily_dag(tmp_path: Path, pg_database: str) -> None:
    port = free_port()
    env = {**os.environ, "SPARKIFY_STATE_DIR": str(tmp_path / "state"),
           "AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW_PORT": str(port),
           "AIRFLOW_S3_PORT": str(free_port()), "SPARKIFY_TARGET": "postgres"}
    for name in ("SPARKIFY_SOURCE", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        env.pop(name, None)
    try:
        up = subprocess.run([str(SCRIPT), "up"], env=env, capture_output=True, text=True,
                            timeout=240, check=False)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        base = f"http://127.0.0.1:{port}"
        assert f"Airflow is up: {base} (user admin, password " in up.stdout
        password = up.stdout.split("password ", 1)[1].split(")", 1)[0]
        token = call(f"{base}/auth/token", method="POST",
                     body={"username": "admin", "password": password})["access_token"]

        wait_for("sparkify_daily parsed",
                 lambda: call(f"{base}/api/v2/dags/sparkify_daily", token), 90)
        assert call(f"{base}/api/v2/dags/sparkify_daily", token)["is_paused"] is False
        run = call(f"{base}/api/v2/dags/sparkify_daily/dagRuns", token, "POST",
                   {"logical_date": "2018-11-03T00:00:00Z"})
        url = f"{base}/api/v2/dags/sparkify_daily/dagRuns/{run['dag_run_id']}"
        state = wait_for("the run finished", lambda: call(url, token)["state"] in
                         ("success", "failed") and call(url, token)["state"], 300)
        assert state == "success"
        plays = postgres_rows(pg_database, "select count(*) as n from sparkify.fct_songplays")
        assert plays[0]["n"] > 0

        with chrome_session(tmp_path) as chrome:
            chrome.get(base)
            chrome.add_cookie({"name": "_token", "value": token, "path": "/"})
            chrome.get(f"{base}/dags/sparkify_daily/runs/{run['dag_run_id']}")
            time.sleep(5)
            shot = save_screenshot(chrome, tmp_path / "screenshots",
                                   "airflow-sparkify_daily-grid.png")
            assert shot.stat().st_size > 10_000
            assert "sparkify_daily" in chrome.page_source
    finally:
        down = subprocess.run([str(SCRIPT), "down"], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
    assert down.returncode == 0, down.stderr
    assert "stopped standalone" in down.stdout
    assert not list((tmp_path / "home").glob("*.pid"))
