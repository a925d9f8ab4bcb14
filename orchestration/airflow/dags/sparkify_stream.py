"""sparkify_stream: one `--once` micro-batch of the Kinesis stream into the Spark landing,
then the incremental build of what it landed (`python -m ingest stream --once`, which builds
after each micro-batch; docs/streaming.md).

The batch source (param `source`) holds the songs the events join; its logs are staged by
sparkify_daily or sparkify_every_10_minutes. Spark target only, one run at a time.
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
    variable,
)

with DAG(
    dag_id="sparkify_stream",
    description="a micro-batch of the event stream, then the incremental build (spark)",
    schedule="*/5 * * * *",
    start_date=dt.datetime(2018, 11, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(minutes=30),
    default_args=DEFAULT_ARGS,
    params={
        "source": Param(source(), type="string",
                        description="the batch source whose songs the events join"),
        "stream": Param(variable("sparkify_stream", "sparkify-events"), type="string",
                        description="the Kinesis data stream"),
    },
    user_defined_filters=USER_DEFINED_FILTERS,
    tags=["sparkify", "spark", "stream"],
    doc_md=__doc__,
) as dag:
    BashOperator(
        task_id="stream_once_then_build",
        bash_command=ingest("stream", "--once", "--target", "spark",
                            "--stream", "{{ params.stream | sh }}",
                            "--source", "{{ params.source | sh }}"),
        cwd=str(PROJECT_DIR),
        env=project_env(),
        append_env=True,
    )
