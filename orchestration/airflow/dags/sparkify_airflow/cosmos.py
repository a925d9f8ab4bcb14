"""The project's dbt graph as Airflow tasks (Cosmos, watcher execution mode): one `dbt build`
of the whole graph in a producer task, then one task per model and seed, and per test of
several models, that reports how its node ended in that build."""

from __future__ import annotations

from typing import Any

from sparkify_airflow.common import DBT, PROFILES_YML, PROJECT_DIR, manifest, project_env

# a backfill run (`airflow backfill create`) rebuilds its own day: the project's backfill vars
BACKFILL_FLAGS = [
    "{{ '--vars' if dag_run.run_type == 'backfill' else '' }}",
    "{{ ({'backfill_from': ds, 'backfill_to': ds} | tojson)"
    " if dag_run.run_type == 'backfill' else '' }}",
]
# Cosmos's task id of the one `dbt build` in watcher mode
PRODUCER_TASK_ID = "dbt_producer_watcher"


def dbt_task_group(target: str, group_id: str = "dbt", **env: str) -> Any:
    """A Cosmos DbtTaskGroup of the project for `target`, run by the project's own dbt.

    Watcher mode: one dbt process (one Spark driver on the embedded target) builds every
    node with dbt's threads, where one process per node would start dbt, and on Spark a JVM,
    a dozen times. Each node's task then reads how its node and its tests ended.
    """
    from cosmos import (
        DbtTaskGroup,
        ExecutionConfig,
        ExecutionMode,
        InvocationMode,
        LoadMode,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
        TestBehavior,
    )

    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(dbt_project_path=PROJECT_DIR, manifest_path=manifest(),
                                     project_name="sparkify", install_dbt_deps=False),
        profile_config=ProfileConfig(profile_name="sparkify", target_name=target,
                                     profiles_yml_filepath=PROFILES_YML),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.WATCHER,
                                         dbt_executable_path=DBT,
                                         invocation_mode=InvocationMode.SUBPROCESS),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH,
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
    after_the_build(group)
    return group


def after_the_build(group: Any) -> None:
    """The node tasks with no parent in the group start once the build has ended.

    Cosmos does this for a DbtDag, not for a task group: there the first node tasks start
    beside the build and wait for its news, which a run that takes one task at a time
    (`airflow dags test`) never gives them, since the build cannot start. After the build
    each node task finds its node's end at once. `one_done`: a build that failed still lets
    each task report its own node (the run fails where dbt failed); a build that never ran
    (the stage failed) skips them, so no node task runs dbt by itself on stale data.
    """
    from airflow.sdk import TriggerRule

    producer = group.children[f"{group.group_id}.{PRODUCER_TASK_ID}"]
    for task in group.get_roots():
        if task is not producer:
            producer >> task
            task.trigger_rule = TriggerRule.ONE_DONE
