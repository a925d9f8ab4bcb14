"""How the sparkify DAGs and their project tasks are built (one place for their defaults)."""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Any

from sparkify_airflow.common import PROJECT_DIR, project_env, source

# the sample data's first day; no DAG catches up, so this only bounds manual logical dates
START_DATE = dt.datetime(2018, 11, 1, tzinfo=dt.UTC)
DEFAULT_ARGS: dict[str, Any] = {"owner": "sparkify", "retries": 0}
# `{{ params.source | sh }}`: a param quoted for bash
USER_DEFINED_FILTERS = {"sh": shlex.quote}


def source_param(description: str, *, s3_only: bool = False) -> Any:
    """The `source` param of a DAG, defaulting to the Variable `sparkify_source`."""
    from airflow.sdk import Param

    pattern = {"pattern": r"^s3://[^/]+"} if s3_only else {}
    return Param(source(), type="string", description=description, **pattern)


def sparkify_dag(dag_id: str, *, description: str, schedule: str | None, tags: list[str],
                 doc: str | None, params: dict[str, Any], **options: Any) -> Any:
    """A DAG of the project: no catchup, one run at a time, owner sparkify, no retries."""
    from airflow.sdk import DAG

    return DAG(dag_id=dag_id, description=description, schedule=schedule,
               start_date=START_DATE, catchup=False, max_active_runs=1,
               default_args=DEFAULT_ARGS, params=params,
               user_defined_filters=USER_DEFINED_FILTERS, tags=["sparkify", *tags],
               doc_md=doc, **options)


def project_task(task_id: str, bash_command: str, env: dict[str, str] | None = None,
                 **options: Any) -> Any:
    """A BashOperator running a project command from the project folder, with the worker's
    environment plus `env` (default: project_env())."""
    from airflow.providers.standard.operators.bash import BashOperator

    return BashOperator(task_id=task_id, bash_command=bash_command, cwd=str(PROJECT_DIR),
                        env=env if env is not None else project_env(), append_env=True,
                        **options)
