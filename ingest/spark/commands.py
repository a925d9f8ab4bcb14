"""`spark-conf`, `metastore` and `spark-server` sub-commands: Spark's configuration, its
metastore, the local Thrift Server."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.setting_options import checked
from ingest.settings import PostgresSettings, ProjectSettings, SparkSettings, ThriftSettings
from ingest.spark import cluster as spark_cluster
from ingest.spark.class_archive import make_archive
from ingest.spark.cluster import WORKERS, ClusterFiles
from ingest.spark.conf import SparkSetup, write_spark_conf
from ingest.spark.metastore import ensure_schema
from ingest.spark.metastore import status as metastore_status
from ingest.spark.thrift_files import server_files
from ingest.spark.thrift_server import START_TIMEOUT, port_number, start, status, stop
from ingest.spark.thrift_sql import ThriftEndpoint

log = logging.getLogger("ingest")
ACTIONS = ("start", "stop", "status")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `spark-conf` and `spark-server start|stop|status [--port N]`."""
    conf = commands.add_parser("spark-conf", help="write the project's Spark configuration")
    conf.add_argument("--dir", default=None, help="folder (default: SPARK_CONF_DIR or pyspark's)")
    conf.set_defaults(handler=cmd_spark_conf)

    archive = commands.add_parser(
        "spark-archive", help="make the class-data-sharing archive of Spark's classes",
        description="Record the classes a Spark driver loads into a class-data-sharing archive "
                    "that the project's drivers map at their start instead of reading pyspark's "
                    "jars (SPARKIFY_SPARK_CLASS_SHARING; `make setup` runs this). Kept when one "
                    "exists for these jars and this java.")
    archive.set_defaults(handler=cmd_spark_archive)

    metastore = commands.add_parser(
        "metastore", help="create or show the Hive metastore (SPARKIFY_METASTORE)",
        description="create: make the PostgreSQL metastore's database and schema (idempotent; "
                    "every Spark command also does it on first use). status: what it holds "
                    "(exit 3: the PostgreSQL schema is not created yet).")
    metastore.add_argument("action", choices=("create", "status"))
    metastore.set_defaults(handler=cmd_metastore)

    cluster = commands.add_parser(
        "spark-cluster", help="a local Spark standalone cluster: a master and workers",
        description="Start, stop or show a Spark standalone cluster on 127.0.0.1 (a master and "
                    "two workers, each its own JVM; state and logs in <state>/spark-cluster). "
                    "SPARKIFY_SPARK_MASTER=standalone makes every Spark command run on it. "
                    "status exits 3 when it is not running.")
    cluster.add_argument("action", choices=ACTIONS)
    cluster.add_argument("--workers", type=int, default=WORKERS,
                         help=f"start: number of workers (default {WORKERS})")
    cluster.set_defaults(handler=cmd_spark_cluster)

    parser = commands.add_parser(
        "spark-server",
        help="a local Spark Thrift Server (as on EMR) for the spark_thrift dbt target",
        description="Start, stop or show the local Spark Thrift Server. It binds 127.0.0.1, "
                    "shares the session's warehouse and metastore with SPARKIFY_METASTORE=postgres "
                    "(else keeps its own in <state>/spark-thrift), and runs "
                    "until `stop`. status exits 3 when nothing runs.",
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument(
        "--port", type=checked(ThriftSettings, "port"), default=ThriftSettings.read().port,
        help="start: the port to listen on (default SPARKIFY_THRIFT_PORT or 10000)")
    parser.add_argument(
        "--timeout", type=float, default=START_TIMEOUT,
        help=f"start: seconds to wait for the server to answer (default {START_TIMEOUT:.0f})")
    parser.set_defaults(handler=cmd_spark_server)


def _port_argument(value: str) -> int:
    try:
        return port_number(value)
    except IngestError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def resolved() -> tuple[StatePaths, SparkSetup]:
    """The state folder and the Spark setup of the settings, read once per command."""
    return (StatePaths.of(ProjectSettings.read()),
            SparkSetup(SparkSettings.read(), PostgresSettings.read()))


def thrift_endpoint() -> ThriftEndpoint:
    """The Thrift Server that the `spark_thrift` target talks to, from ThriftSettings."""
    endpoint = ThriftSettings.read()
    return ThriftEndpoint(endpoint.host, endpoint.port, endpoint.user)


def cmd_spark_conf(args: argparse.Namespace) -> int:
    state, setup = resolved()
    folder = write_spark_conf(state, setup, Path(args.dir) if args.dir else None)
    log.info("Spark configuration written to %s (state in %s)", folder, state.root)
    metastore = setup.metastore(state)
    if metastore.shared:
        from ingest.spark.session import java_binary

        log.info("%s", ensure_schema(java_binary(setup.spark.java_home), metastore).describe())
    return 0


def cmd_spark_archive(args: argparse.Namespace) -> int:
    _state, setup = resolved()
    archive = make_archive(setup)
    if archive is None:
        log.info("class sharing is off (SPARKIFY_SPARK_CLASS_SHARING) or no java was found: "
                 "no archive made")
        return 0
    log.info("%s", archive.describe())
    return 0


def cmd_metastore(args: argparse.Namespace) -> int:
    state, setup = resolved()
    if args.action == "create":
        from ingest.spark.session import java_binary

        print(ensure_schema(java_binary(setup.spark.java_home),
                            setup.metastore(state)).describe())
        return 0
    shown = metastore_status(setup.metastore(state))
    print(shown.describe())
    return 0 if shown.created or not shown.metastore.shared else 3


def cmd_spark_server(args: argparse.Namespace) -> int:
    state, setup = resolved()
    if args.action == "start":
        started = start(args.port, state, setup, timeout=args.timeout)
        print(started.describe())
        print("dbt: SPARKIFY_TARGET=spark_thrift (or --target spark_thrift) with "
              f"SPARKIFY_THRIFT_PORT={started.port}")
        return 0
    if args.action == "stop":
        stop(state)
        return 0
    running = status(state)
    if running is None:
        print(f"Spark Thrift Server not running (state: {server_files(state).folder})")
        return 3
    print(running.describe())
    return 0


def cmd_spark_cluster(args: argparse.Namespace) -> int:
    state = StatePaths.of(ProjectSettings.read())
    files = ClusterFiles.of(state)
    if args.action == "start":
        if args.workers < 1:
            raise IngestError("--workers must be 1 or more")
        from ingest.spark.session import java_binary

        java_binary(SparkSettings.read().java_home)
        print(spark_cluster.start(state, workers=args.workers).describe(files))
        print("run Spark on it: SPARKIFY_SPARK_MASTER=standalone (docs/spark-cluster.md)")
        return 0
    if args.action == "stop":
        spark_cluster.stop(state)
        return 0
    running = spark_cluster.status(state)
    if running is None:
        print(f"Spark cluster not running (state: {files.folder})")
        return 3
    print(running.describe(files))
    return 0
