"""The project's dbt graph as Airflow tasks (Cosmos): one task per model and seed, each
`dbt build` of that node with its tests; tests of several models wait for all of them."""

from __future__ import annotations

from typing import Any

from sparkify_airflow.common import DBT, PROFILES_YML, PROJECT_DIR, manifest, project_env

# a backfill run (`airflow backfill create`) rebuilds its own day: the project's backfill vars
BACKFILL_FLAGS = [
    "{{ '--vars' if dag_run.run_type == 'backfill' else '' }}",
    "{{ ({'backfill_from': ds, 'backfill_to': ds} | tojson)"
    " if dag_run.run_type == 'backfill' else '' }}",
]


def dbt_task_group(target: str, group_id: str = "dbt", **env: str) -> Any:
    """A Cosmos DbtTaskGroup of the project for `target`, run by the project's own dbt."""
    from cosmos import (
        DbtTaskGroup,
        ExecutionConfig,
        InvocationMode,
        LoadMode,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
        TestBehavior,
    )

    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(dbt_project_path=PROJECT_DIR, manifest_path=manifest(),
                                     project_name="sparkify", install_dbt_deps=False),
        profile_config=ProfileConfig(profile_name="sparkify", target_name=target,
                                     profiles_yml_filepath=PROFILES_YML),
        execution_config=ExecutionConfig(dbt_executable_path=DBT,
                                         invocation_mode=InvocationMode.SUBPROCESS),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            should_detach_multiple_parents_tests=True,
            dbt_executable_path=DBT,
            invocation_mode=InvocationMode.SUBPROCESS,
        ),
        operator_args={
            "env": project_env(SPARKIFY_TARGET=target, **env),
            "append_env": True,
            "dbt_cmd_flags": BACKFILL_FLAGS,
        },
    )
