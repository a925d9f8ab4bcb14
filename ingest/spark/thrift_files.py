"""Where the local Thrift Server keeps its files, its Spark settings, and how it is launched.

`<state>/spark-thrift/`: its own conf folder (SPARK_CONF_DIR of that JVM only), pid file, log
and lock; with the Derby metastore also its own warehouse and metastore, with the shared
Postgres one the session's (see ingest.spark.thrift_server for why).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.spark.class_sharing import spark_home
from ingest.spark.conf import LOG4J2, SparkSetup, spark_defaults, write_hive_site

MAIN_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
BIND_HOST = "127.0.0.1"
STATE_MARKER = "-Dsparkify.thrift.state="
LOG_HEADER = "=== sparkify spark-server start"


@dataclass(frozen=True)
class ServerFiles:
    """The server's folder: its Spark conf, warehouse, metastore, pid, log and lock."""

    state: StatePaths

    @property
    def folder(self) -> Path:
        return self.state.spark

    @property
    def conf(self) -> Path:
        return self.folder / "conf"

    @property
    def pid_file(self) -> Path:
        return self.folder / "server.pid"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    @property
    def lock_file(self) -> Path:
        return self.folder / "server.lock"

    @property
    def marker(self) -> str:
        return f"{STATE_MARKER}{self.folder}"

    def catalog(self, setup: SparkSetup) -> StatePaths:
        """Whose warehouse and metastore the server uses.

        With the shared (Postgres) metastore: the session's, so the server serves the marts
        `make run` built. With Derby (one JVM at a time): its own, `<state>/spark-thrift`.
        """
        if setup.metastore(self.state).shared:
            return self.state.session
        return self.state


def server_files(state: StatePaths) -> ServerFiles:
    return ServerFiles(state.thrift_server)


def server_settings(files: ServerFiles, setup: SparkSetup) -> dict[str, str]:
    """The project's Spark settings, pointed at the server's catalog (ServerFiles.catalog)."""
    settings = spark_defaults(files.catalog(setup), setup, long_lived=True)
    settings["spark.app.name"] = "sparkify-thrift"
    settings["spark.driver.extraJavaOptions"] += f" {files.marker}"
    settings["spark.sql.session.timeZone"] = "UTC"
    return settings


def write_server_conf(files: ServerFiles, setup: SparkSetup) -> Path:
    """spark-defaults.conf, hive-site.xml and a quiet log4j2.properties for the server's JVM."""
    catalog = files.catalog(setup)
    files.conf.mkdir(parents=True, exist_ok=True)
    catalog.warehouse.mkdir(parents=True, exist_ok=True)
    header = ("# Written by ingest.spark.thrift_server for the local Spark Thrift Server's "
              "own state.\n")
    defaults = "".join(f"{key} {value}\n"
                       for key, value in server_settings(files, setup).items())
    (files.conf / "spark-defaults.conf").write_text(header + defaults, encoding="utf-8")
    write_hive_site(files.conf / "hive-site.xml", catalog, setup)
    (files.conf / "log4j2.properties").write_text(LOG4J2, encoding="utf-8")
    return files.conf


def server_command(port: int, host: str = BIND_HOST) -> list[str]:
    submit = spark_home() / "bin" / "spark-submit"
    if not submit.is_file():
        raise IngestError(f"{submit} is missing: reinstall pyspark (make setup)")
    return [str(submit), "--class", MAIN_CLASS,
            "--hiveconf", f"hive.server2.thrift.bind.host={host}",
            "--hiveconf", f"hive.server2.thrift.port={port}",
            "spark-internal"]
