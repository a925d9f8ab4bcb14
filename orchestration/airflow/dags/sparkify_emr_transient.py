"""sparkify_emr_transient: a transient EMR cluster for one build, terminated whatever happens.

create_cluster (`python -m ingest emr up`, tagged project=sparkify-dbt, named after the run)
→ stage (`--target spark_thrift --location direct`: the tables read s3:// themselves) →
dbt_build (`dbt build --target spark_thrift` against the cluster's Spark Thrift server) →
terminate_cluster (`python -m ingest emr down --name …`, trigger rule all_done: also after a
failure, and by name, so a cluster whose creation timed out is terminated too). A last task
fails the run when any task failed, since the terminate step itself succeeds.

Param `rehearsal`: stage with `--dry-run` and `dbt parse` instead of the build, to check the
cluster's lifecycle, roles and tags without running Spark (the tests do this on moto).
"""

from __future__ import annotations

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import Param, TriggerRule
from sparkify_airflow.common import AIRFLOW_STATE, dbt, ingest, project_env
from sparkify_airflow.dags import project_task, source_param, sparkify_dag

CLUSTER_NAME = "sparkify-dbt-{{ ts_nodash | lower }}"
THRIFT_PORT = "10001"  # EMR's Spark Thrift server (ingest/clusters/emr.py)
HOST = "{{ ti.xcom_pull(task_ids='create_cluster') }}"

with sparkify_dag(
    "sparkify_emr_transient",
    description="EMR up → stage (direct) → dbt build on spark_thrift → EMR down, always",
    schedule=None,
    tags=["spark_thrift", "emr"],
    doc=__doc__,
    params={
        "source": source_param("s3://bucket/prefix the cluster's Spark reads", s3_only=True),
        "rehearsal": Param(False, type="boolean",
                           description="stage --dry-run and dbt parse: no Spark job"),
    },
) as dag:
    cluster_env = project_env(SPARKIFY_THRIFT_HOST=HOST, SPARKIFY_THRIFT_PORT=THRIFT_PORT,
                              SPARKIFY_TARGET="spark_thrift")
    # `emr up` prints the endpoint as `export SPARKIFY_THRIFT_HOST=…`: its last line is the
    # task's XCom, which the next tasks read
    create = project_task(
        "create_cluster",
        "set -o pipefail; " + ingest("emr", "up", "--name", CLUSTER_NAME)
        + " | tee /dev/stderr | sed -n 's/^ *export SPARKIFY_THRIFT_HOST=//p' | tail -n 1")
    stage = project_task(
        "stage",
        ingest("stage", "--target", "spark_thrift", "--location", "direct",
               "--source", "{{ params.source | sh }}",
               "{{ '--dry-run' if params.rehearsal else '' }}"),
        env=cluster_env)
    build = project_task(
        "dbt_build",
        dbt("{{ 'parse' if params.rehearsal else 'build' }}", "--target", "spark_thrift",
            "--target-path", str(AIRFLOW_STATE / "target" / "emr")),
        env=cluster_env)
    terminate = project_task("terminate_cluster",
                             ingest("emr", "down", "--name", CLUSTER_NAME),
                             trigger_rule=TriggerRule.ALL_DONE)
    any_failed = BashOperator(
        task_id="fail_if_any_task_failed",
        bash_command="echo 'a task of this run failed (the cluster was terminated)'; exit 1",
        trigger_rule=TriggerRule.ONE_FAILED,
    )
    create >> stage >> build >> terminate
    [create, stage, build, terminate] >> any_failed
