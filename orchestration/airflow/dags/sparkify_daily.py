"""sparkify_daily: the day's log object → stage → dbt (Cosmos) → docs → freshness gate.

The daily MWAA DAG of the systems this project grew from, on any of the project's targets.
One `dbt build` of the graph (Cosmos's watcher mode), then a task per model and seed that
reports how its node and tests ended; tests of several models (relationships, the raw-to-fact
reconciliation) report after all of their models.

Target: the Airflow Variable `sparkify_target` (spark, spark_thrift, postgres, redshift),
read when the file is parsed; source: the DAG param `source` (default: Variable
`sparkify_source`). A backfill (`airflow backfill create --dag-id sparkify_daily …`) passes
each run's day to dbt as `backfill_from` / `backfill_to`. See docs/orchestration.md.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from sparkify_airflow.common import AIRFLOW_STATE, dbt, ingest, target
from sparkify_airflow.cosmos import dbt_task_group
from sparkify_airflow.dags import project_task, source_param, sparkify_dag

TARGET = target()
# the app writes one log object a day: log_data/YYYY/MM/YYYY-MM-DD-events.json
LOG_KEY = ("{{ params.source.rstrip('/') }}/log_data/{{ logical_date.strftime('%Y/%m') }}/"
           "{{ ds }}-events.json")
DBT_TARGET_PATH = str(AIRFLOW_STATE / "target" / "daily")

with sparkify_dag(
    "sparkify_daily",
    description=f"stage the day's log and build the star schema ({TARGET})",
    schedule="@daily",
    tags=[TARGET],
    doc=__doc__,
    params={"source": source_param("s3://bucket/prefix holding song_data/ and log_data/",
                                   s3_only=True)},
) as dag:
    wait_for_log = S3KeySensor(
        task_id="wait_for_log_object",
        bucket_key=LOG_KEY,
        aws_conn_id=None,  # boto3's own chain: the worker's role, AWS_* variables
        mode="reschedule",
        poke_interval=300,
        timeout=18 * 3600,
    )
    stage = project_task("stage", ingest("stage", "--target", TARGET, "--source",
                                         "{{ params.source | sh }}"))
    build = dbt_task_group(TARGET)
    docs = project_task("docs", dbt("docs", "generate", "--target", TARGET,
                                    "--target-path", f"{DBT_TARGET_PATH}/docs"))
    # the raw-to-fact reconciliation is a dbt test of the group, after fct_songplays and the
    # staged events; the gate: the log source was loaded within a day (else the run fails)
    gate = project_task("freshness_gate", dbt("source", "freshness", "--target", TARGET,
                                              "--select", "source:sparkify.log_data",
                                              "--target-path", f"{DBT_TARGET_PATH}/freshness"))
    wait_for_log >> stage >> build >> docs >> gate
