"""The bench's spark_cluster target is the spark target (dbt target, ingest --target, the
scheduled +1 day cycle and mart counts) with executors on the run's own cluster."""

from __future__ import annotations

from pathlib import Path

from bench.batch.steps import TARGETS
from bench.batch.targets import SPARK_CLUSTER, TargetRun


def test_the_cluster_target_builds_as_spark(tmp_path: Path) -> None:
    assert SPARK_CLUSTER in TARGETS
    run = TargetRun(SPARK_CLUSTER, {}, "bench", "bench_raw")
    assert run.dbt_target == "spark"
    for target in ("spark", "spark_thrift", "postgres"):
        assert TargetRun(target, {}, "bench", "bench_raw").dbt_target == target
