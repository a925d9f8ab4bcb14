"""Where a run builds: a fresh environment per target, and a throw-away database or schemas.

spark: the run's own state folder (Spark conf, warehouse, Derby metastore); postgres: a
throw-away database on the server; spark_thrift: throw-away schemas on a running Thrift
Server, whose memory counts in every pipeline step when it is a local process.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.batch.steps import TARGETS
from bench.common.environment import step_env
from bench.common.memory import listening_pids
from ingest.errors import IngestError
from ingest.settings import ThriftSettings
from ingest.spark.processes import port_answers
from ingest.spark.thrift_sql import ThriftSql

log = logging.getLogger(__name__)
SPARK_CLUSTER = "spark_cluster"


@dataclass
class TargetRun:
    """The environment of one run on one target, and what to add to its memory figure."""

    target: str
    env: dict[str, str]
    schema: str
    raw_schema: str
    server_pids: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def dbt_target(self) -> str:
        """The dbt target and the ingest's --target: spark_cluster is the spark target."""
        return "spark" if self.target == SPARK_CLUSTER else self.target


@contextlib.contextmanager
def target_run(target: str, state: Path) -> Iterator[TargetRun]:
    """A fresh place to build into on `target`, removed afterwards (local state stays)."""
    env = step_env(state)
    tag = uuid.uuid4().hex[:8]
    if target in {"spark", "postgres"}:
        run = TargetRun(target, env, "bench", "bench_raw")
    elif target == SPARK_CLUSTER:
        run = TargetRun(target, env, "bench", "bench_raw")
        run.server_pids = _start_cluster(env)
        run.notes.append("executors on a local standalone cluster (a master and two workers, "
                         "2 cores per application); the daemons' RSS is counted in every "
                         "pipeline step")
    elif target == "spark_thrift":
        thrift = ThriftSettings.read()
        host, port = thrift.host, thrift.port
        run = TargetRun(target, env, f"bench_{tag}", f"bench_{tag}_raw",
                        server_pids=listening_pids(host, port))
        run.notes.append(
            f"Thrift Server at {host}:{port}; " + (
                "its whole RSS (warm) is counted in every pipeline step" if run.server_pids
                else "not a local process, so its memory is not counted"))
    else:
        raise IngestError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    env.update({"SPARKIFY_TARGET": run.dbt_target, "SPARKIFY_SCHEMA": run.schema,
                "SPARKIFY_RAW_SCHEMA": run.raw_schema})
    database = f"sparkify_bench_{tag}"
    if target == "postgres":
        env["SPARKIFY_PG_DATABASE"] = database
        run.notes.append("the pipeline builds on PostgreSQL, whose server processes are not "
                         "counted in the peak RSS; the baseline runs on the embedded Spark")
        _postgres_admin(f'create database "{database}"')
    try:
        yield run
    finally:
        if target == "postgres":
            _postgres_admin(f'drop database if exists "{database}" with (force)')
        elif target == "spark_thrift":
            _drop_thrift_schemas(run)
        elif target == SPARK_CLUSTER:
            _ingest(env, "spark-cluster", "stop")


def _ingest(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "ingest", *args], env=env, check=True,
                   capture_output=True)


def _start_cluster(env: dict[str, str]) -> tuple[int, ...]:
    """Start the run's own cluster (not timed), point its Spark conf at it; the daemons' pids."""
    from ingest.paths import StatePaths
    from ingest.spark.cluster import status

    _ingest(env, "spark-cluster", "start")
    env["SPARKIFY_SPARK_MASTER"] = "standalone"
    _ingest(env, "spark-conf", "--dir", env["SPARK_CONF_DIR"])
    info = status(StatePaths(Path(env["SPARKIFY_STATE_DIR"])))
    if info is None:
        raise IngestError("the bench's Spark cluster stopped right after it started")
    log.info("bench on the Spark cluster %s (%d workers)", info.url, info.alive_workers)
    return tuple(daemon.pid for daemon in info.daemons)


def check_target(target: str) -> None:
    """Fail early, saying what to start, when the target's server does not answer."""
    if target == "spark_thrift":
        thrift = ThriftSettings.read()
        host, port = thrift.host, thrift.port
        if not port_answers(host, port, timeout=2.0):
            raise IngestError(
                f"no Spark Thrift Server answers on {host}:{port}: start one "
                "(`make spark-server`, or `python -m ingest spark-server start`), or point "
                "SPARKIFY_THRIFT_HOST / SPARKIFY_THRIFT_PORT at a running one")
    elif target == "postgres":
        try:
            _postgres_admin("select 1")
        except Exception as exc:
            raise IngestError(f"cannot reach PostgreSQL for --target postgres ({exc}); set "
                              "SPARKIFY_PG_HOST/PORT/USER and DBT_ENV_SECRET_PG_PASSWORD"
                              ) from exc


def _drop_thrift_schemas(run: TargetRun) -> None:
    """Drop the run's schemas on the Thrift Server; a failure is logged, the result stands."""
    schemas = [run.raw_schema, *(f"{run.schema}{suffix}" for suffix in
                                 ("", "_staging", "_intermediate", "_reference"))]
    try:
        with ThriftSql() as server:
            for schema in schemas:
                server.sql(f"drop database if exists `{schema}` cascade")
    except IngestError as exc:
        log.warning("could not drop the bench schemas %s: %s", schemas, exc)
        return
    log.info("dropped the bench schemas %s on the Thrift Server", ", ".join(schemas))


def _postgres_admin(sql: str) -> None:
    """One statement on the server's `postgres` database, autocommit."""
    from ingest.warehouse import ConnectionSettings, admin_connect

    connection = admin_connect(ConnectionSettings.from_env("postgres"))
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()

