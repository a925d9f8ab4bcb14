"""sparkify_every_10_minutes: the micro-batch cycle of the crontab line
`*/10 * * * * python -m ingest run --once …` as a DAG.

One task, `python -m ingest run --once`: stage what is new, then build only what changed.
A cycle with nothing new since the last successful build stages nothing, starts no dbt and
ends in seconds as a skipped task (`--idle-exit-code 99`, the BashOperator's skip code); a
failed cycle is retried by the next one (the ledger keeps what is still new). One run at a
time (`max_active_runs=1`, and the project's own cycle lock), no catchup. `ingest run`
supports the spark and postgres targets (Variable `sparkify_target`).
"""

from __future__ import annotations

import datetime as dt

from sparkify_airflow.common import ingest, target
from sparkify_airflow.dags import project_task, source_param, sparkify_dag

TARGET = target()

with sparkify_dag(
    "sparkify_every_10_minutes",
    description=f"stage what is new and build what changed ({TARGET})",
    schedule="*/10 * * * *",
    tags=[TARGET],
    doc=__doc__,
    params={"source": source_param("s3://bucket/prefix (or a folder) of the raw data")},
    dagrun_timeout=dt.timedelta(minutes=60),
) as dag:
    project_task("stage_and_build_what_changed",
                 ingest("run", "--once", "--no-wait", "--idle-exit-code", "99",
                        "--target", TARGET, "--source", "{{ params.source | sh }}"))
