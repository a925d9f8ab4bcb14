"""Every DAG imports (DagBag, in the Airflow environment, no metadata database) with the
expected tasks and order: staging before any dbt task, tests after their models, the EMR
cluster terminated after everything whatever happened."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.airflow import (
    DAG_IDS,
    DAGS_FOLDER,
    Airflow,
    airflow_env,
    migrated,
    requires_airflow,
)

pytestmark = [pytest.mark.airflow, requires_airflow]

EXPORT = """
import json, types
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(%r)
dags = {}
for dag in bag.dags.values():
    dags[dag.dag_id] = {
        "schedule": str(dag.schedule), "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs, "params": sorted(dag.params),
        "tasks": {t.task_id: {"upstream": sorted(t.upstream_task_ids),
                              "trigger_rule": str(t.trigger_rule.value),
                              "type": type(t).__name__} for t in dag.tasks},
    }
daily = bag.dags["sparkify_daily"]
task = daily.get_task("dbt.dbt_producer_watcher")
env = daily.get_template_env()
rendered = {}
for run_type in ("backfill", "scheduled"):
    context = {"dag_run": types.SimpleNamespace(run_type=run_type), "ds": "2018-11-04"}
    rendered[run_type] = [task.render_template(flag, context, jinja_env=env)
                          for flag in task.dbt_cmd_flags]
print(json.dumps({"errors": {k: v[-2000:] for k, v in bag.import_errors.items()},
                  "dags": dags, "backfill_flags": rendered}))
"""


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow")
    airflow = Airflow(home, airflow_env(home, sparkify_target="postgres"))
    # no `airflow db migrate`: the DAGs must import without a metadata database
    result = airflow.python(EXPORT % str(DAGS_FOLDER),
                            AIRFLOW__COSMOS__ENABLE_CACHE_DBT_LS="False")
    exported: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return exported


def ancestors(tasks: dict[str, Any], task_id: str) -> set[str]:
    found: set[str] = set()
    todo = list(tasks[task_id]["upstream"])
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(tasks[current]["upstream"])
    return found


def test_every_dag_imports(bag: dict[str, Any]) -> None:
    assert bag["errors"] == {}
    assert sorted(bag["dags"]) == sorted(DAG_IDS)
    assert not (Path(DAGS_FOLDER) / "sparkify_airflow" / "__init__.py").read_text().count("DAG(")


def test_daily_stages_before_dbt_and_tests_after_their_models(bag: dict[str, Any]) -> None:
    tasks = bag["dags"]["sparkify_daily"]["tasks"]
    assert tasks["wait_for_log_object"]["type"] == "S3KeySensor"
    assert tasks["stage"]["upstream"] == ["wait_for_log_object"]
    dbt_tasks = [task for task in tasks if task.startswith("dbt.")]
    models = {task.removeprefix("dbt.").removesuffix(".run") for task in dbt_tasks
              if task.endswith(".run")}
    assert models == {"stg_sparkify__songs", "stg_sparkify__events",
                      "int_events__deduplicated", "int_songplays__matched_to_songs",
                      "int_users__latest_attributes", "int_artists__first_known_attributes",
                      "fct_songplays", "dim_users", "dim_songs", "dim_artists", "dim_time"}
    assert "dbt.us_states.seed" in dbt_tasks
    # one `dbt build` after the stage; every node's task reports after it, whatever its end
    producer = "dbt.dbt_producer_watcher"
    assert tasks[producer]["upstream"] == ["stage"]
    for task in set(dbt_tasks) - {producer}:
        assert producer in ancestors(tasks, task), task
    roots = [task for task in dbt_tasks if tasks[task]["upstream"] == [producer]]
    assert sorted(roots) == ["dbt.dbt_producer_watcher_done", "dbt.stg_sparkify__events.run",
                             "dbt.stg_sparkify__songs.run", "dbt.us_states.seed"]
    assert {tasks[task]["trigger_rule"] for task in roots} == {"none_failed", "one_done"}
    # a test of several models runs after all of them (not on its first parent)
    relationship = "dbt.relationships_fct_songplays_user_id__user_id__ref_dim_users__test"
    assert set(tasks[relationship]["upstream"]) == {"dbt.fct_songplays.test",
                                                     "dbt.dim_users.test"}
    reconciliation = "dbt.assert_songplays_reconcile_with_raw_events_test"
    assert {"dbt.fct_songplays.run", "dbt.stg_sparkify__events.run"} <= \
        ancestors(tasks, reconciliation)
    assert "dbt.int_songplays__matched_to_songs.test" in \
        ancestors(tasks, "dbt.fct_songplays.run")
    assert set(dbt_tasks) <= ancestors(tasks, "docs")
    assert ancestors(tasks, "freshness_gate") == set(tasks) - {"freshness_gate"}
    daily = bag["dags"]["sparkify_daily"]
    assert (daily["catchup"], daily["max_active_runs"]) == (False, 1)


def test_a_backfill_run_passes_its_day_to_dbt(bag: dict[str, Any]) -> None:
    flags = bag["backfill_flags"]
    assert [flag for flag in flags["scheduled"] if flag] == []
    assert flags["backfill"][0] == "--vars"
    assert json.loads(flags["backfill"][1]) == {"backfill_from": "2018-11-04",
                                                "backfill_to": "2018-11-04"}


def test_cycle_and_stream_run_one_at_a_time(bag: dict[str, Any]) -> None:
    for dag_id in ("sparkify_every_10_minutes", "sparkify_stream"):
        dag = bag["dags"][dag_id]
        assert (dag["catchup"], dag["max_active_runs"]) == (False, 1), dag_id
    assert bag["dags"]["sparkify_every_10_minutes"]["schedule"] == "*/10 * * * *"


def test_emr_cluster_is_terminated_after_everything(bag: dict[str, Any]) -> None:
    tasks = bag["dags"]["sparkify_emr_transient"]["tasks"]
    assert ancestors(tasks, "terminate_cluster") == {"create_cluster", "stage", "dbt_build"}
    assert tasks["terminate_cluster"]["trigger_rule"] == "all_done"
    assert tasks["fail_if_any_task_failed"]["trigger_rule"] == "one_failed"
    assert set(tasks["fail_if_any_task_failed"]["upstream"]) == set(tasks) - {
        "fail_if_any_task_failed"}


def test_backfill_creates_a_run_per_day(tmp_path: Path) -> None:
    """`airflow backfill create` (Airflow 3's `airflow dags backfill`) plans one run per day
    of the range, ends included; each run passes its day to dbt (the test above)."""
    airflow = migrated(tmp_path / "airflow", sparkify_target="postgres")
    airflow.run("dags", "reserialize")
    result = airflow.run("backfill", "create", "--dag-id", "sparkify_daily",
                         "--from-date", "2018-11-01", "--to-date", "2018-11-03", "--dry-run")
    planned = re.findall(r"^\| (\d{4}-\d\d-\d\d) 00:00:00\+00:00", result.stdout, re.MULTILINE)
    assert planned == ["2018-11-01", "2018-11-02", "2018-11-03"], result.stdout[-3000:]
