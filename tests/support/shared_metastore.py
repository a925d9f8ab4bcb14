"""A project set up on the shared PostgreSQL metastore, driven through subprocesses.

Each Spark entry point runs in its own process (its own JVM), as a user runs them: the test
process's own embedded Spark (the `spark` fixture) is on the Derby metastore and is never
used here. `SharedProject` holds the environment (state folder, Spark conf folder, a
throwaway metastore database, the schemas) and runs `python -m ingest …` and `dbt …` with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ingest.paths import StatePaths
from tests.support.cross_engine import MARTS, Export, export_marts
from tests.support.expected_marts import build_expected_marts
from tests.support.project import FIXTURES, PROJECT_DIR, throwaway_database

BIN = Path(sys.executable).parent
US_STATES = PROJECT_DIR / "seeds" / "us_states.csv"
JDBC_JAR = Path("/usr/share/java/postgresql.jar")
HANDWRITTEN_DAYS = ("2018-11-01", "2018-11-02")


def skip_without_shared_metastore() -> None:
    """Skip (saying why) without the JDBC driver or a reachable PostgreSQL server."""
    if not JDBC_JAR.is_file():
        pytest.skip(f"{JDBC_JAR} is missing: apt-get install libpostgresql-jdbc-java (.ci/run)")
    try:
        with throwaway_database("sparkify_probe"):
            pass
    except Exception as exc:  # any connection failure: no server to test against
        pytest.skip(f"no PostgreSQL server for the shared metastore: {exc}")


def copy_days(target: Path, days: tuple[str, ...]) -> Path:
    """The hand-written fixture's songs and the log files of `days`, into `target`."""
    source = FIXTURES / "raw_handwritten"
    if not (target / "song_data").exists():
        shutil.copytree(source / "song_data", target / "song_data")
    logs = target / "log_data" / "2018" / "11"
    logs.mkdir(parents=True, exist_ok=True)
    for day in days:
        shutil.copy2(source / "log_data" / "2018" / "11" / f"{day}-events.json", logs)
    return target


@dataclass
class SharedProject:
    root: Path
    env: dict[str, str]
    schema: str
    raw_schema: str
    logs: list[Path] = field(default_factory=list)

    @property
    def state(self) -> StatePaths:
        return StatePaths(self.root / "state")

    def _log(self, name: str) -> Path:
        path = self.root / f"{len(self.logs):02d}-{name}.log"
        self.logs.append(path)
        return path

    def start(self, name: str, command: list[str], **extra_env: str) -> tuple[
            subprocess.Popen[bytes], Path]:
        log = self._log(name)
        with log.open("wb") as output:
            process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=output,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env={**self.env, **extra_env})
        return process, log

    def ingest_command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ingest", *args]

    def dbt_command(self, *args: str) -> list[str]:
        target = self.root / f"target-{len(self.logs):02d}"
        return [str(BIN / "dbt"), *args, "--profiles-dir", "profiles", "--target-path",
                str(target), "--log-path", str(target / "logs")]

    def run(self, name: str, command: list[str], timeout: float = 900.0,
            **extra_env: str) -> str:
        """Run to the end; the output; AssertionError with its tail unless it exits 0."""
        process, log = self.start(name, command, **extra_env)
        code = process.wait(timeout=timeout)
        text = log.read_text(errors="replace")
        assert code == 0, f"{name} exited {code}:\n{tail(text)}"
        return text

    def marts(self, schema: str | None = None, only: tuple[str, ...] = MARTS) -> Export:
        """The marts of `schema` (those in `only`) in the warehouse, read from their parquet
        files."""
        import duckdb

        from ingest.report.readers import ParquetReader

        reader = ParquetReader(self.state.warehouse, schema or self.schema)
        connection = duckdb.connect(":memory:")
        connection.execute("set TimeZone = 'UTC'")

        def fetch(mart: str) -> list[dict[str, Any]]:
            if mart not in only:
                return []
            cursor = connection.execute(f"select * from {reader.relation(mart)}")
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        try:
            return export_marts(fetch)
        finally:
            connection.close()


def expected_marts(raw_dir: Path) -> Export:
    """The contract's answer for `raw_dir` (a serial build gives it: test_pipeline_e2e)."""
    expected = build_expected_marts(raw_dir, US_STATES)
    return export_marts(lambda mart: expected[mart])


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(f"  | {line}" for line in text.strip().splitlines()[-lines:])


def wait_for_line(log: Path, needle: str, process: subprocess.Popen[bytes],
                  timeout: float = 600.0) -> None:
    """Until `needle` appears in the log; AssertionError when the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if needle in text:
            return
        assert process.poll() is None, f"ended (exit {process.returncode}) before " \
                                       f"{needle!r}:\n{tail(text)}"
        time.sleep(0.5)
    raise AssertionError(f"no {needle!r} within {timeout:.0f} s")


@contextmanager
def shared_project(root: Path, schema: str, **extra_env: str) -> Iterator[SharedProject]:
    """A state folder and Spark conf on a throwaway PostgreSQL metastore; schema created."""
    skip_without_shared_metastore()
    with throwaway_database("sparkify_metastore_test") as database, spark_project(
            root, schema, SPARKIFY_METASTORE="postgres",
            SPARKIFY_METASTORE_DATABASE=database, **extra_env) as project:
        yield project


@contextmanager
def spark_project(root: Path, schema: str, *, conf: bool = True,
                  **extra_env: str) -> Iterator[SharedProject]:
    """A state folder and Spark conf of its own (Derby unless `extra_env` says otherwise);
    `conf=False`: the caller writes the Spark conf (`ingest spark-conf`)."""
    root.mkdir(parents=True, exist_ok=True)
    if True:
        env = {
            **os.environ,
            "SPARKIFY_METASTORE": "derby",
            "SPARKIFY_STATE_DIR": str(root / "state"),
            "SPARK_CONF_DIR": str(root / "spark-conf"),
            "SPARKIFY_SCHEMA": schema,
            "SPARKIFY_RAW_SCHEMA": f"{schema}_raw",
            "SPARKIFY_SPARK_DRIVER_MEMORY": "1g",
            "TZ": "UTC",
            **extra_env,
        }
        project = SharedProject(root, env, schema, f"{schema}_raw")
        if conf:
            project.run("spark-conf", project.ingest_command("spark-conf"), timeout=300)
        yield project
