"""sparkify_daily: the day's log object → stage → dbt (Cosmos) → docs → freshness gate.

The daily MWAA DAG of the systems this project grew from, on any of the project's targets.
One task per model and seed (`dbt build` of the node with its tests); tests of several models
(relationships, the raw-to-fact reconciliation) run after all of their models.

Target: the Airflow Variable `sparkify_target` (spark, spark_thrift, postgres, redshift),
read when the file is parsed; source: the DAG param `source` (default: Variable
`sparkify_source`). A backfill (`airflow backfill create --dag-id sparkify_daily …`) passes
each run's day to dbt as `backfill_from` / `backfill_to`. See docs/orchestration.md.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param
from sparkify_airflow.common import (
    AIRFLOW_STATE,
    DEFAULT_ARGS,
    PROJECT_DIR,
    USER_DEFINED_FILTERS,
    dbt,
    ingest,
    project_env,
    source,
    target,
)
from sparkify_airflow.cosmos import dbt_task_group

TARGET = target()
# the app writes one log object a day: log_data/YYYY/MM/YYYY-MM-DD-events.json
LOG_KEY = ("{{ params.source.rstrip('/') }}/log_data/{{ logical_date.strftime('%Y/%m') }}/"
           "{{ ds }}-events.json")
DBT_TARGET_PATH = str(AIRFLOW_STATE / "target" / "daily")

with DAG(
    dag_id="sparkify_daily",
    description=f"stage the day's log and build the star schema ({TARGET})",
    schedule="@daily",
    start_date=dt.datetime(2018, 11, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"source": Param(source(), type="string", pattern=r"^s3://[^/]+",
                            description="s3://bucket/prefix holding song_data/ and log_data/")},
    user_defined_filters=USER_DEFINED_FILTERS,
    tags=["sparkify", TARGET],
    doc_md=__doc__,
) as dag:
    wait_for_log = S3KeySensor(
        task_id="wait_for_log_object",
        bucket_key=LOG_KEY,
        aws_conn_id=None,  # boto3's own chain: the worker's role, AWS_* variables
        mode="reschedule",
        poke_interval=300,
        timeout=18 * 3600,
    )
    stage = BashOperator(
        task_id="stage",
        bash_command=ingest("stage", "--target", TARGET, "--source",
                            "{{ params.source | sh }}"),
        cwd=str(PROJECT_DIR),
        env=project_env(),
        append_env=True,
    )
    build = dbt_task_group(TARGET)
    docs = BashOperator(
        task_id="docs",
        bash_command=dbt("docs", "generate", "--target", TARGET,
                         "--target-path", f"{DBT_TARGET_PATH}/docs"),
        cwd=str(PROJECT_DIR),
        env=project_env(),
        append_env=True,
    )
    # the raw-to-fact reconciliation is a dbt test of the group, after fct_songplays and the
    # staged events; the gate: the log source was loaded within a day (else the run fails)
    gate = BashOperator(
        task_id="freshness_gate",
        bash_command=dbt("source", "freshness", "--target", TARGET,
                         "--select", "source:sparkify.log_data",
                         "--target-path", f"{DBT_TARGET_PATH}/freshness"),
        cwd=str(PROJECT_DIR),
        env=project_env(),
        append_env=True,
    )
    wait_for_log >> stage >> build >> docs >> gate
