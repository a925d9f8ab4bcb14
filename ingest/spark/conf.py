"""Spark's static settings for this project, written where every Spark JVM of the venv reads them.

A JVM reads `spark-defaults.conf`, `hive-site.xml` and `log4j2.properties` from
`$SPARK_CONF_DIR`, or else from `$SPARK_HOME/conf` (for pip's pyspark: the package folder).
Writing them there, with absolute paths, makes `dbt` (session method), the ingest and a
Thrift Server started from this venv share one warehouse and metastore from any directory.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from ingest.paths import StatePaths
from ingest.settings import PostgresSettings, SparkSettings
from ingest.spark.class_sharing import class_sharing, spark_home
from ingest.spark.cluster import CORES_PER_APP, EXECUTOR_MEMORY, master_url
from ingest.spark.metastore import Metastore

# SPARKIFY_SPARK_MASTER's name for the project's own standalone cluster (ingest.spark.cluster)
STANDALONE = "standalone"

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


@dataclass(frozen=True)
class SparkSetup:
    """How the project's Spark JVMs run, resolved once by the CLI: the Spark settings
    (SPARKIFY_SPARK_*, SPARKIFY_METASTORE…) and the PostgreSQL server of a shared metastore."""

    spark: SparkSettings
    postgres: PostgresSettings

    def metastore(self, state: StatePaths) -> Metastore:
        return Metastore.of(state, self.spark, self.postgres)


def conf_dir(settings: SparkSettings) -> Path:
    """The folder the next Spark JVM will read its configuration from."""
    configured = settings.conf_dir
    if configured:
        return configured
    return spark_home() / "conf"


def resolved_master(state: StatePaths, settings: SparkSettings) -> str:
    """SPARKIFY_SPARK_MASTER, with `standalone` resolved to the running cluster's URL."""
    return master_url(state) if settings.master == STANDALONE else settings.master


def spark_defaults(state: StatePaths, setup: SparkSetup, *,
                   long_lived: bool = False) -> dict[str, str]:
    """Static and session settings shared by every Spark entry point of the project.

    The driver's JVM options (SPARKIFY_SPARK_JAVA_OPTIONS, by default C1-only JIT) suit a
    command's JVM, which lives for one build; a `long_lived` server (the Thrift Server, a
    stream) takes SPARKIFY_SPARK_SERVER_JAVA_OPTIONS, by default none: the JVM's own JIT,
    whose C2 pays back over hours (BENCHMARKS.md, dev loop). Both map the archive of Spark's
    classes (ingest.spark.class_sharing) when SPARKIFY_SPARK_CLASS_SHARING is on.
    """
    settings = setup.spark
    metastore = setup.metastore(state)
    sharing = class_sharing(settings)
    java_options = " ".join(filter(None, (
        f"-Dderby.system.home={state.spark}", "-Duser.timezone=UTC",
        sharing.java_option if sharing else "",
        settings.server_java_options if long_lived else settings.java_options)))
    # The driver's RPC and block manager ports: loopback by default, as local mode needs
    # nothing else. A cluster master needs an address its executors can reach.
    master = resolved_master(state, settings)
    defaults = {
        "spark.master": master,
        "spark.app.name": "sparkify",
        "spark.driver.memory": settings.driver_memory,
        "spark.driver.bindAddress": settings.bind_address,
        "spark.driver.host": settings.bind_address,
        "spark.driver.extraJavaOptions": java_options,
        # executors in other JVMs (a standalone cluster) compute in UTC like the driver
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executorEnv.TZ": "UTC",
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
    }
    defaults.update({f"spark.hadoop.{key}": value
                     for key, value in metastore.jdo_options(with_password=False).items()})
    if not master.startswith("local"):
        # executors in other JVMs: a share of the cluster each (so a Thrift Server and a dbt
        # run fit at once), and the venv's Python for Python workers (the Kinesis source)
        defaults["spark.cores.max"] = str(CORES_PER_APP)
        defaults["spark.executor.cores"] = "1"
        defaults["spark.executor.memory"] = EXECUTOR_MEMORY
        defaults["spark.pyspark.python"] = str(settings.python or sys.executable)
    # pyspark's jars first (so the archive's classes come before the conf folder), then the
    # JDBC driver of a shared metastore
    class_path = [sharing.jars] if sharing else []
    if metastore.shared:
        class_path.append(str(metastore.jdbc_jar))
    if class_path:
        defaults["spark.driver.extraClassPath"] = os.pathsep.join(class_path)
    if metastore.shared:
        # Other JVMs rewrite tables this one has read: a long-lived reader (the Thrift
        # Server) forgets cached table metadata and file listings after 2 s, so it reads
        # the partitions the writer swapped in, not the files it deleted (docs/metastore.md).
        defaults["spark.sql.metadataCacheTTLSeconds"] = "2"
    return defaults


def hive_site(state: StatePaths, setup: SparkSetup) -> str:
    metastore = setup.metastore(state)
    properties = {
        **metastore.jdo_options(),
        "hive.metastore.warehouse.dir": state.warehouse.as_uri(),
        "hive.metastore.schema.verification": "false",
        # Derby creates its tables on first use; the Postgres schema is made up front
        # (ingest.spark.metastore.ensure_schema): letting DataNucleus do it there hangs.
        "datanucleus.schema.autoCreateAll": "false" if metastore.shared else "true",
    }
    if metastore.shared:
        properties["datanucleus.identifierFactory"] = "datanucleus1"
    body = "\n".join(
        f"  <property><name>{escape(name)}</name><value>{escape(value)}</value></property>"
        for name, value in properties.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}\n</configuration>\n'


def write_spark_conf(state: StatePaths, setup: SparkSetup, target: Path | None = None) -> Path:
    """Write the three files into `target` (default: conf_dir()) and return that folder."""
    folder = target or conf_dir(setup.spark)
    folder.mkdir(parents=True, exist_ok=True)
    state.spark.mkdir(parents=True, exist_ok=True)
    defaults = "".join(f"{key} {value}\n" for key, value in spark_defaults(state, setup).items())
    header = "# Written by `python -m ingest spark-conf` for this project's state folder.\n"
    (folder / "spark-defaults.conf").write_text(header + defaults, encoding="utf-8")
    write_hive_site(folder / "hive-site.xml", state, setup)
    (folder / "log4j2.properties").write_text(LOG4J2, encoding="utf-8")
    return folder


def write_hive_site(path: Path, state: StatePaths, setup: SparkSetup) -> None:
    """hive-site.xml, readable by its owner only (it may hold the metastore's password)."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(hive_site(state, setup), encoding="utf-8")
