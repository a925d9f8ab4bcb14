"""The names of the bench's targets and steps, and the log lines it looks for in a step."""

from __future__ import annotations

from collections.abc import Mapping

# spark_cluster: the spark target with its executors on a local two-worker standalone cluster
# (ingest spark-cluster, started and stopped by the run, its daemons' memory counted)
TARGETS = ("spark", "spark_thrift", "postgres", "spark_cluster")
FULL_STEPS = ("stage", "dbt_build")
INCREMENTAL_STEPS = ("stage_incremental", "dbt_build_incremental")
# the +1 day on the spark target: one scheduled cycle (`ingest run --once`), as it arrives in
# production; stage and build in one process, the data tests scoped to the rebuilt days
INCREMENTAL_CYCLE = "cycle_incremental"
BASELINE = "baseline"
DUCKDB = "duckdb"
DUCKDB_PLUS_DAY = "duckdb_plus_day"
IDLE_COLD = "idle_cold"
IDLE_WARM = "idle_warm"
# every run has these; the cycle and idle steps only on the spark target (`ingest run` is
# spark/postgres, and the marker the cycles need is the embedded Spark's), the other targets
# stage and build the +1 day by hand (INCREMENTAL_STEPS)
STEPS = (*FULL_STEPS, BASELINE, DUCKDB, DUCKDB_PLUS_DAY)
IDLE_STEPS = (IDLE_COLD, IDLE_WARM)
# the order of the steps in the results
ALL_STEPS = (*STEPS, *INCREMENTAL_STEPS, INCREMENTAL_CYCLE, *IDLE_STEPS)
BUILD_STEPS = ("dbt_build", "dbt_build_incremental", INCREMENTAL_CYCLE)

SCOPED_TESTS_MESSAGE = "data tests of this build: the rebuilt days"
NOTHING_NEW_MESSAGE = "nothing new since the last successful build"


def incremental_steps(steps: Mapping[str, object]) -> tuple[str, ...]:
    """The +1 day's steps: one scheduled cycle (spark), else a stage and a build by hand."""
    return (INCREMENTAL_CYCLE,) if INCREMENTAL_CYCLE in steps else INCREMENTAL_STEPS


def incremental_build(steps: Mapping[str, object]) -> str:
    """The step whose run_results.json is the +1 day's dbt build."""
    return incremental_steps(steps)[-1]
