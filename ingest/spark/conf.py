"""Spark's static settings for this project, written where every Spark JVM of the venv reads them.

A JVM reads `spark-defaults.conf`, `hive-site.xml` and `log4j2.properties` from
`$SPARK_CONF_DIR`, or else from `$SPARK_HOME/conf` (for pip's pyspark: the package folder).
Writing them there, with absolute paths, makes `dbt` (session method), the ingest and a
Thrift Server started from this venv share one warehouse and metastore from any directory.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from ingest.paths import StatePaths
from ingest.settings import SparkSettings

LOG4J2 = """\
# Written by `python -m ingest spark-conf`: Spark says only warnings and errors.
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.hive.name = org.apache.hadoop.hive
logger.hive.level = error
logger.datanucleus.name = DataNucleus
logger.datanucleus.level = error
"""


def conf_dir() -> Path:
    """The folder the next Spark JVM will read its configuration from."""
    configured = SparkSettings.read().conf_dir
    if configured:
        return configured
    from pyspark.find_spark_home import _find_spark_home

    return Path(_find_spark_home()) / "conf"


def spark_defaults(state: StatePaths) -> dict[str, str]:
    """Static and session settings shared by every Spark entry point of the project."""
    settings = SparkSettings.read()
    java_options = f"-Dderby.system.home={state.spark} -Duser.timezone=UTC"
    # The driver's RPC and block manager ports: loopback by default, as local mode needs
    # nothing else. A cluster master needs an address its executors can reach.
    return {
        "spark.master": settings.master,
        "spark.app.name": "sparkify",
        "spark.driver.memory": settings.driver_memory,
        "spark.driver.bindAddress": settings.bind_address,
        "spark.driver.host": settings.bind_address,
        "spark.driver.extraJavaOptions": java_options,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": state.warehouse.as_uri(),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.parquet.compression.codec": "snappy",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.hadoop.javax.jdo.option.ConnectionURL": metastore_url(state),
    }


def metastore_url(state: StatePaths) -> str:
    return f"jdbc:derby:;databaseName={state.metastore};create=true"


def hive_site(state: StatePaths) -> str:
    properties = {
        "javax.jdo.option.ConnectionURL": metastore_url(state),
        "javax.jdo.option.ConnectionDriverName": "org.apache.derby.jdbc.EmbeddedDriver",
        "hive.metastore.warehouse.dir": state.warehouse.as_uri(),
        "hive.metastore.schema.verification": "false",
        "datanucleus.schema.autoCreateAll": "true",
    }
    body = "\n".join(
        f"  <property><name>{escape(name)}</name><value>{escape(value)}</value></property>"
        for name, value in properties.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}\n</configuration>\n'


def write_spark_conf(state: StatePaths, target: Path | None = None) -> Path:
    """Write the three files into `target` (default: conf_dir()) and return that folder."""
    folder = target or conf_dir()
    folder.mkdir(parents=True, exist_ok=True)
    state.spark.mkdir(parents=True, exist_ok=True)
    defaults = "".join(f"{key} {value}\n" for key, value in spark_defaults(state).items())
    header = "# Written by `python -m ingest spark-conf` for this project's state folder.\n"
    (folder / "spark-defaults.conf").write_text(header + defaults, encoding="utf-8")
    (folder / "hive-site.xml").write_text(hive_site(state), encoding="utf-8")
    (folder / "log4j2.properties").write_text(LOG4J2, encoding="utf-8")
    return folder
