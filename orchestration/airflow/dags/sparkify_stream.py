"""sparkify_stream: one `--once` micro-batch of the Kinesis stream into the Spark landing,
then the incremental build of what it landed (`python -m ingest stream --once`, which builds
after each micro-batch; docs/streaming.md).

The batch source (param `source`) holds the songs the events join; its logs are staged by
sparkify_daily or sparkify_every_10_minutes. Spark target only, one run at a time.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param
from sparkify_airflow.common import ingest, variable
from sparkify_airflow.dags import project_task, source_param, sparkify_dag

with sparkify_dag(
    "sparkify_stream",
    description="a micro-batch of the event stream, then the incremental build (spark)",
    schedule="*/5 * * * *",
    tags=["spark", "stream"],
    doc=__doc__,
    params={
        "source": source_param("the batch source whose songs the events join"),
        "stream": Param(variable("sparkify_stream", "sparkify-events"), type="string",
                        description="the Kinesis data stream"),
    },
    dagrun_timeout=dt.timedelta(minutes=30),
) as dag:
    project_task("stream_once_then_build",
                 ingest("stream", "--once", "--target", "spark",
                        "--stream", "{{ params.stream | sh }}",
                        "--source", "{{ params.source | sh }}"))
