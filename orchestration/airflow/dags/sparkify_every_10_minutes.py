"""sparkify_every_10_minutes: the micro-batch cycle of the crontab line
`*/10 * * * * python -m ingest run --once …` as a DAG.

One task, `python -m ingest run --once`: stage what is new, then build only what changed.
A cycle with nothing new since the last successful build stages nothing, starts no dbt and
ends in seconds; a failed cycle is retried by the next one (the ledger keeps what is still
new). One run at a time (`max_active_runs=1`, and the project's own cycle lock), no catchup.
`ingest run` supports the spark and postgres targets (Variable `sparkify_target`).
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param
from sparkify_airflow.common import (
    DEFAULT_ARGS,
    PROJECT_DIR,
    USER_DEFINED_FILTERS,
    ingest,
    project_env,
    source,
    target,
)

TARGET = target()

with DAG(
    dag_id="sparkify_every_10_minutes",
    description=f"stage what is new and build what changed ({TARGET})",
    schedule="*/10 * * * *",
    start_date=dt.datetime(2018, 11, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(minutes=60),
    default_args=DEFAULT_ARGS,
    params={"source": Param(source(), type="string",
                            description="s3://bucket/prefix (or a folder) of the raw data")},
    user_defined_filters=USER_DEFINED_FILTERS,
    tags=["sparkify", TARGET],
    doc_md=__doc__,
) as dag:
    BashOperator(
        task_id="stage_and_build_what_changed",
        bash_command=ingest("run", "--once", "--no-wait", "--target", TARGET, "--source",
                            "{{ params.source | sh }}"),
        cwd=str(PROJECT_DIR),
        env=project_env(),
        append_env=True,
    )
