"""Every environment variable the `ingest` package reads, typed, with its default and meaning.

Nothing is read at import time: `<Group>.read()` reads the environment when it is called, so
a variable set later (by a test) is seen. Empty values count as
unset. A value of the wrong type is an IngestError naming the variable. The table of
docs/settings.md and of `python -m ingest --help` is generated from these groups by
`ingest.settings_table`; `python -m ingest.settings_table` prints it as Markdown.

Only the CLI (ingest/cli.py and each area's commands.py) reads them, and passes typed values
down; nothing writes os.environ: dbt gets what the ingest hands on as --vars (ingest.run.dbt).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from ingest.setting_base import (
    CommaList,
    SettingsGroup,
    declared,
    env,
    env_name,
    env_names,
)
from ingest.setting_rules import (
    TARGETS,
    EventRate,
    Interval,
    Target,
    Url,
)

__all__ = ["GROUPS", "SettingsGroup", "declared", "env_name", "env_names", "read_all"]

PROJECT = "sparkify-dbt"  # the EMR cluster name and Redshift cluster id by default


class ProjectSettings(SettingsGroup):
    """Where the project and its generated state are."""

    project_dir: Path | None = env(
        "SPARKIFY_PROJECT_DIR", None,
        "the folder holding dbt_project.yml (default: the package's parent, else the cwd)")
    state_dir: Path | None = env(
        "SPARKIFY_STATE_DIR", None, "folder for generated state (default `<project>/.state`)")


class SparkSettings(SettingsGroup):
    """The embedded Spark and the Spark configuration the project writes."""

    java_home: Path | None = env(
        "JAVA_HOME", None, "the Java 17+ that starts Spark (default: `java` on PATH)")
    conf_dir: Path | None = env(
        "SPARK_CONF_DIR", None, "folder of the Spark configuration (default: pyspark's conf/)")
    master: str = env("SPARKIFY_SPARK_MASTER", "local[*]",
                      "Spark master URL, or `standalone`: the project's local cluster "
                      "(`spark-cluster start`, docs/spark-cluster.md)")
    driver_memory: str = env("SPARKIFY_SPARK_DRIVER_MEMORY", "4g", "Spark driver memory")
    shuffle_partitions: int = env(
        "SPARKIFY_SPARK_SHUFFLE_PARTITIONS", 4, "spark.sql.shuffle.partitions", ge=1, le=100_000)
    java_options: str = env(
        "SPARKIFY_SPARK_JAVA_OPTIONS",
        "-XX:TieredStopAtLevel=1 -XX:CompileThresholdScaling=4 "
        "-XX:+UnlockDiagnosticVMOptions -XX:-BytecodeVerificationRemote",
        "JVM options of a command's Spark driver, not the Thrift Server's: by default the JIT "
        "compiles with C1 only and later, and the classes of pyspark's own jars are not "
        "verified again at each start, about 35% and 10-15% less CPU for a `dbt build` of the "
        "sample (BENCHMARKS.md, dev loop); `-XX:TieredStopAtLevel=4` restores C2 for long "
        "local runs")
    server_java_options: str = env(
        "SPARKIFY_SPARK_SERVER_JAVA_OPTIONS", "",
        "JVM options of the long-lived Spark drivers (the Thrift Server, a stream): by "
        "default none, the JVM's own JIT, whose C2 pays back over hours; in a JVM that lives "
        "for minutes C2 is most of its CPU (a stream's restart in the test suite: 50 of "
        "57 CPU s), so the test suite gives them SPARKIFY_SPARK_JAVA_OPTIONS's default")
    class_sharing: bool = env(
        "SPARKIFY_SPARK_CLASS_SHARING", True,
        "the project's Spark drivers map a class-data-sharing archive of Spark's classes "
        "(made by `make setup`: `python -m ingest spark-archive`) instead of loading ~20,000 "
        "classes from pyspark's jars at each start: a cold `dbt build` of the sample about "
        "15% less CPU (BENCHMARKS.md, dev loop); off: neither the archive nor the jars first "
        "on the driver's class path")
    class_archive_dir: Path | None = env(
        "SPARKIFY_SPARK_CLASS_ARCHIVE_DIR", None,
        "folder of that archive (default: `sparkify-cds/` in pyspark's folder, beside the "
        "jars it is made of)")
    python: Path | None = env(
        "PYSPARK_PYTHON", None,
        "the Python Spark's Python workers run, e.g. the streaming source's (default: the "
        "interpreter that starts Spark)")
    bind_address: str = env(
        "SPARKIFY_SPARK_BIND_ADDRESS", "127.0.0.1",
        "address the Spark driver listens on and advertises (a cluster master needs one "
        "its executors reach)")
    lock_wait: int = env(
        "SPARKIFY_SPARK_LOCK_WAIT", 600,
        "seconds a command waits for another one's embedded Spark on the same state folder "
        "(its Derby metastore admits one JVM) before it stops", ge=0, le=86400)
    metastore: Literal["derby", "postgres"] = env(
        "SPARKIFY_METASTORE", "derby",
        "Hive metastore of every Spark JVM: `derby` (embedded, one JVM at a time) or "
        "`postgres` (a database on the SPARKIFY_PG_* server, shared: docs/metastore.md)")
    metastore_database: str = env(
        "SPARKIFY_METASTORE_DATABASE", "sparkify_metastore",
        "metastore=postgres: the database holding the metastore (one per state folder)",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    jdbc_jar: Path = env(
        "SPARKIFY_JDBC_JAR", Path("/usr/share/java/postgresql.jar"),
        "metastore=postgres: the PostgreSQL JDBC driver (Debian: libpostgresql-jdbc-java)")


class ThriftSettings(SettingsGroup):
    """The Spark Thrift Server: the local one, or EMR's through a tunnel."""

    host: str = env("SPARKIFY_THRIFT_HOST", "127.0.0.1", "Thrift Server host to connect to")
    port: int = env("SPARKIFY_THRIFT_PORT", 10000, "Thrift Server port (and `spark-server "
                    "start`'s)", ge=1, le=65535)
    user: str | None = env("SPARKIFY_THRIFT_USER", None,
                           "user name of the Thrift session (default: the Unix user)")


class PostgresSettings(SettingsGroup):
    """The PostgreSQL warehouse (the same variables as the dbt profile)."""

    host: str = env("SPARKIFY_PG_HOST", "127.0.0.1", "PostgreSQL host")
    port: int = env("SPARKIFY_PG_PORT", 5432, "PostgreSQL port", ge=1, le=65535)
    user: str = env("SPARKIFY_PG_USER", "postgres", "PostgreSQL user")
    database: str = env("SPARKIFY_PG_DATABASE", "sparkify", "PostgreSQL database")
    password: SecretStr | None = env("DBT_ENV_SECRET_PG_PASSWORD", None,
                                     "PostgreSQL password (never printed)")


class RedshiftSettings(SettingsGroup):
    """The Redshift warehouse (the dbt profile's variables; `redshift up` uses them too)."""

    host: str | None = env("SPARKIFY_REDSHIFT_HOST", None, "Redshift endpoint (no default)")
    port: int = env("SPARKIFY_REDSHIFT_PORT", 5439, "Redshift port", ge=1, le=65535)
    user: str = env("SPARKIFY_REDSHIFT_USER", "sparkify",
                    "Redshift user, and the master user `redshift up` creates")
    database: str = env("SPARKIFY_REDSHIFT_DATABASE", "sparkify", "Redshift database")
    password: SecretStr | None = env(
        "DBT_ENV_SECRET_REDSHIFT_PASSWORD", None,
        "Redshift password, and the master password of `redshift up` (never printed)")


class AwsSettings(SettingsGroup):
    """AWS: credentials and region come from boto3's own chain; named here where we say it."""

    endpoint_url: Url | None = env("AWS_ENDPOINT_URL", None,
                                   "AWS endpoint named in connection errors (boto3 reads it)")
    s3_endpoint_url: Url | None = env("AWS_ENDPOINT_URL_S3", None,
                                      "S3 endpoint, before AWS_ENDPOINT_URL (boto3 reads it)")


class SampleSettings(SettingsGroup):
    """`generate` and `pipeline`: the generated sample data."""

    out: Path | None = env("SPARKIFY_OUT", None, "generate: output folder (--out)")
    start_date: dt.date = env("SPARKIFY_START_DATE", dt.date(2018, 11, 1),
                              "generate: first day of the events (--start-date)")
    known_song_share: float = env("SPARKIFY_KNOWN_SONG_SHARE", 0.4,
                                  "generate: share of plays that name a song of the set",
                                  ge=0.0, le=1.0)
    songs: int = env("SPARKIFY_SONGS", 71, "sample size: songs (--songs)", ge=0, le=10_000_000)
    days: int = env("SPARKIFY_DAYS", 30, "sample size: days (--days)", ge=0, le=36_500)
    events_per_day: int = env("SPARKIFY_EVENTS_PER_DAY", 270,
                              "sample size: events per day (--events-per-day)", ge=0,
                              le=100_000_000)
    seed: int = env("SPARKIFY_SEED", 42, "sample: random seed (--seed)", ge=-2**63,
                    le=2**63 - 1)


class UploadSettings(SettingsGroup):
    """`upload`: local raw files to S3."""

    workers: int = env("SPARKIFY_UPLOAD_WORKERS", 16, "upload: parallel uploads (--workers)",
                       ge=1, le=1024)


class StageSettings(SettingsGroup):
    """`stage`, `status`, `run`, `pipeline`: what is staged, where and how."""

    target: Target = env("SPARKIFY_TARGET", "spark",
                         f"dbt target, and the ingest's --target: {', '.join(TARGETS)}")
    source: str | None = env("SPARKIFY_SOURCE", None,
                             "raw data: a local folder or s3://bucket/prefix (--source)")
    raw_schema: str = env("SPARKIFY_RAW_SCHEMA", "sparkify_raw",
                          "schema of the raw tables (--raw-schema; dbt reads it too)")
    location: Literal["local", "direct"] = env(
        "SPARKIFY_LOCATION", "local", "stage: local landing folder or direct s3:// tables")
    iam_role: str | None = env("SPARKIFY_IAM_ROLE", None,
                               "stage redshift: ARN of the role the cluster reads S3 with")
    region: str | None = env(("SPARKIFY_REGION", "AWS_REGION"), None,
                             "stage redshift: region of the raw bucket (--region)")
    load_files_uri: str | None = env(
        "SPARKIFY_LOAD_FILES_URI", None,
        "stage redshift: s3:// prefix for manifests (default `<source>/_sparkify_loads`)")
    batch_objects: int = env("SPARKIFY_BATCH_OBJECTS", 500, "objects per batch", ge=1,
                               le=1_000_000)
    max_attempts: int = env("SPARKIFY_MAX_ATTEMPTS", 3,
                            "runs an unreadable object stays pending before it is failed", ge=1,
                            le=1000)
    prune: bool = env("SPARKIFY_PRUNE", False,
                      "drop the rows of objects that vanished from the source (--prune)")
    wait: bool = env("SPARKIFY_WAIT", True,
                     "wait for another stage of the same source and target (--wait)")
    archive: str | None = env("SPARKIFY_ARCHIVE", None,
                              "copy processed raw objects to this folder or s3:// prefix")


class RunSettings(SettingsGroup):
    """`run` and `pipeline`: the dbt builds."""

    schema_name: str = env("SPARKIFY_SCHEMA", "sparkify",
                           "marts schema (--schema; dbt reads it too)")
    every: Interval = env("SPARKIFY_EVERY", "10m", "run: interval between cycles (--every)")
    idle_exit_code: int = env("SPARKIFY_IDLE_EXIT_CODE", 0,
                              "run: exit code when the last cycle built nothing "
                              "(--idle-exit-code; 99: Airflow marks the task skipped)",
                              ge=0, le=255)


class ReportSettings(SettingsGroup):
    """`report` and the dashboard (dashboards/): where dbt writes its artifacts."""

    target_path: Path | None = env(
        "DBT_TARGET_PATH", None,
        "dbt's target folder (dbt reads it too): the dashboard's last build "
        "(run_results.json), `report`'s output below it (default `<project>/target`)")


class EmrSettings(SettingsGroup):
    """`emr up`: the EMR cluster for the spark_thrift target."""

    name: str = env("SPARKIFY_EMR_NAME", PROJECT, "EMR cluster name", min_length=1)
    release: str = env("SPARKIFY_EMR_RELEASE", "emr-7.5.0", "EMR release label")
    instance_type: str = env("SPARKIFY_EMR_INSTANCE_TYPE", "m5.xlarge",
                             "EMR master and core instance type")
    core_count: int = env("SPARKIFY_EMR_CORE_COUNT", 2, "EMR core instances", ge=0, le=1000)
    subnet: str | None = env("SPARKIFY_EMR_SUBNET", None, "EC2 subnet id of the EMR cluster")
    key_pair: str | None = env("SPARKIFY_EMR_KEY_PAIR", None, "EC2 key pair of the EMR nodes")
    log_uri: str | None = env("SPARKIFY_EMR_LOG_URI", None, "s3:// prefix for EMR logs")
    service_role: str = env("SPARKIFY_EMR_SERVICE_ROLE", "EMR_DefaultRole", "EMR service role")
    job_flow_role: str = env("SPARKIFY_EMR_JOB_FLOW_ROLE", "EMR_EC2_DefaultRole",
                             "EC2 instance profile of the EMR nodes")
    timeout: float = env("SPARKIFY_EMR_TIMEOUT", 1800.0,
                         "seconds `emr up` waits for the cluster", gt=0, le=86_400)


class RedshiftClusterSettings(SettingsGroup):
    """`redshift up`: the Redshift cluster and the IAM role it reads S3 with."""

    cluster_id: str = env("SPARKIFY_REDSHIFT_CLUSTER_ID", PROJECT,
                          "Redshift cluster identifier")
    node_type: str = env("SPARKIFY_REDSHIFT_NODE_TYPE", "ra3.xlplus", "Redshift node type")
    node_count: int = env("SPARKIFY_REDSHIFT_NODE_COUNT", 1, "Redshift nodes", ge=1, le=128)
    raw_uri: str | None = env("SPARKIFY_RAW_URI", None,
                              "s3://bucket/prefix the cluster's role may read")
    role_name: str = env("SPARKIFY_REDSHIFT_ROLE", "sparkify-dbt-redshift-s3-read",
                         "IAM role the cluster uses to read the raw bucket")
    public: bool = env("SPARKIFY_REDSHIFT_PUBLIC", False, "PubliclyAccessible cluster")
    subnet_group: str | None = env("SPARKIFY_REDSHIFT_SUBNET_GROUP", None,
                                   "Redshift cluster subnet group")
    security_groups: CommaList = env("SPARKIFY_REDSHIFT_SECURITY_GROUPS", (),
                                     "VPC security group ids, comma-separated")
    timeout: float = env("SPARKIFY_REDSHIFT_TIMEOUT", 1800.0,
                         "seconds `redshift up` waits for the cluster", gt=0,
                         le=86_400)


class StreamSettings(SettingsGroup):
    """`produce`, `deliver` and `stream`: the Kinesis data stream (docs/streaming.md)."""

    name: str | None = env("SPARKIFY_STREAM", None, "Kinesis stream name (--stream)")
    every: Interval = env("SPARKIFY_STREAM_EVERY", "30s",
                     "stream: interval between micro-batches (--every)")
    max_records: int = env("SPARKIFY_STREAM_MAX_RECORDS", 100_000,
                           "stream: records per micro-batch at most (--max-records)", ge=1,
                           le=100_000_000)
    region: str | None = env("SPARKIFY_STREAM_REGION", None,
                             "region of the Kinesis stream (--region of produce, deliver, "
                             "stream, collect; default: SPARKIFY_REGION, AWS_REGION, else "
                             "boto3's)")
    shards: int = env("SPARKIFY_STREAM_SHARDS", 1,
                      "produce: shards of a stream it creates (--shards)", ge=1, le=500)
    kms_key: str | None = env(
        "SPARKIFY_STREAM_KMS_KEY", None,
        "produce: KMS key id or alias for server-side encryption of the stream (--encrypt)")


class ProduceSettings(SettingsGroup):
    """`produce`: how fast a source's events are replayed onto the stream."""

    rate: EventRate = env("SPARKIFY_PRODUCE_RATE", "max",
                          "events per second, or `max` (--rate)")
    speedup: float | None = env(
        "SPARKIFY_PRODUCE_SPEEDUP", None,
        "replay the events' own `ts` timing this many times faster (--speedup; wins over "
        "the rate)", gt=0, le=1e9)


class DeliverSettings(SettingsGroup):
    """`deliver`: the stream into raw log objects, buffered like Firehose."""

    to: str | None = env("SPARKIFY_DELIVER_TO", None,
                         "deliver: destination folder or s3://bucket/prefix (--to)")
    max_records: int = env("SPARKIFY_DELIVER_MAX_RECORDS", 5000,
                           "deliver: records per shard buffer before it is written",
                           ge=1, le=1_000_000)
    max_bytes: int = env("SPARKIFY_DELIVER_MAX_BYTES", 5 * 1024 * 1024,
                         "deliver: bytes per shard buffer before it is written", ge=1,
                         le=1024**3)
    max_seconds: float = env("SPARKIFY_DELIVER_MAX_SECONDS", 60.0,
                             "deliver: seconds a shard buffer waits before it is written", gt=0,
                             le=86_400)


class CollectSettings(SettingsGroup):
    """`collect`: the HTTP collection API in front of the stream (docs/collector.md)."""

    host: str = env("SPARKIFY_COLLECT_HOST", "127.0.0.1",
                    "collect: address to listen on (plain HTTP only on loopback) (--host)")
    port: int = env("SPARKIFY_COLLECT_PORT", 8088, "collect: port (--port)", ge=0, le=65535)
    cert: Path | None = env("SPARKIFY_COLLECT_CERT", None,
                            "collect: TLS certificate chain, PEM (--cert)")
    key: Path | None = env("SPARKIFY_COLLECT_KEY", None,
                           "collect: TLS private key, PEM (--key)")
    rate: float = env("SPARKIFY_COLLECT_RATE", 5000.0,
                      "collect: events per second per API key (token bucket) (--rate)", gt=0,
                      le=1e7)
    burst: int = env("SPARKIFY_COLLECT_BURST", 10_000,
                     "collect: events an API key may send at once above the rate (--burst)",
                     ge=1, le=100_000_000)
    max_body: int = env("SPARKIFY_COLLECT_MAX_BODY", 1024 * 1024,
                        "collect: bytes a request body may hold (--max-body)",
                        ge=1024, le=5 * 1024 * 1024)
    max_events: int = env("SPARKIFY_COLLECT_MAX_EVENTS", 500,
                          "collect: events a request may hold (--max-events)", ge=1, le=10_000)
    linger_ms: float = env("SPARKIFY_COLLECT_LINGER_MS", 5.0,
                           "collect: milliseconds a PutRecords batch waits for more events "
                           "(--linger-ms)", ge=0, le=1000)
    max_pending: int = env("SPARKIFY_COLLECT_MAX_PENDING", 20_000,
                           "collect: events waiting for the stream before requests get 503 "
                           "(--max-pending)", ge=1, le=100_000_000)
    header_timeout: float = env("SPARKIFY_COLLECT_HEADER_TIMEOUT", 10.0,
                                "collect: seconds a request's headers may take to arrive "
                                "(--header-timeout)", gt=0, le=600)
    body_timeout: float = env("SPARKIFY_COLLECT_BODY_TIMEOUT", 60.0,
                              "collect: seconds a request's body may take to arrive after "
                              "its headers (--body-timeout)", gt=0, le=3600)
    max_connections: int = env("SPARKIFY_COLLECT_MAX_CONNECTIONS", 128,
                               "collect: open connections; one more closes the oldest idle "
                               "one (--max-connections)", ge=1, le=100_000)
    api_key: SecretStr | None = env(
        "SPARKIFY_COLLECT_API_KEY", None,
        "the load tool (`python -m bench.collect --url`): the API key it posts with")


GROUPS: tuple[type[SettingsGroup], ...] = (
    ProjectSettings, SparkSettings, ThriftSettings, PostgresSettings, RedshiftSettings,
    AwsSettings, SampleSettings, UploadSettings, StageSettings, RunSettings, ReportSettings,
    EmrSettings,
    RedshiftClusterSettings, StreamSettings, ProduceSettings, DeliverSettings,
    CollectSettings,
)


def read_all() -> None:
    """Check every setting now (the CLI does, before anything runs): IngestError naming the
    first group's bad variables."""
    for group in GROUPS:
        group.read()
