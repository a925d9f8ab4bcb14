"""ingest.spark.small_inputs: the small-input session settings while a state is small, Spark's
own past the bound; counting stops once past it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.paths import StatePaths
from ingest.spark import small_inputs
from ingest.spark.small_inputs import (
    SMALL_INPUT_CONFS,
    data_bytes,
    input_confs,
    use_small_inputs,
)


def _state(tmp_path: Path, landing: int, warehouse: int) -> StatePaths:
    state = StatePaths(tmp_path)
    for folder, size in ((state.landing / "t" / "day=1", landing),
                         (state.warehouse / "m", warehouse)):
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_bytes(b"x" * size)
    return state


def test_a_small_state_gets_the_small_input_settings(tmp_path: Path) -> None:
    state = _state(tmp_path, 3000, 1000)
    assert data_bytes(state) == 4000
    assert input_confs(state) == SMALL_INPUT_CONFS


def test_past_the_bound_spark_keeps_its_own(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(small_inputs, "SMALL_INPUT_BYTES", 3500)
    state = _state(tmp_path, 3000, 1000)
    assert input_confs(state) == {}
    assert data_bytes(state, past=100) == 3000  # stops at the first file past the bound


def test_an_empty_state_is_small(tmp_path: Path) -> None:
    assert input_confs(StatePaths(tmp_path / "none")) == SMALL_INPUT_CONFS


@pytest.mark.spark
def test_a_session_takes_them_and_gives_them_back_as_the_state_grows(
        spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long-lived process's session: the small-input settings while its state is small,
    the values it started with (spark-defaults.conf's, else Spark's own) once it is not."""
    state = _state(tmp_path, 3000, 1000)
    started = spark.sparkContext.getConf()
    try:
        assert use_small_inputs(spark, state)
        assert {key: spark.conf.get(key) for key in SMALL_INPUT_CONFS} == SMALL_INPUT_CONFS
        monkeypatch.setattr(small_inputs, "SMALL_INPUT_BYTES", 3500)  # the state grew past it
        assert not use_small_inputs(spark, state)
        assert spark.conf.get("spark.sql.shuffle.partitions") == started.get(
            "spark.sql.shuffle.partitions") == "4"
        assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
        assert spark.conf.get("spark.sql.codegen.wholeStage") == "true"
        assert spark.conf.get("spark.sql.codegen.factoryMode") == "FALLBACK"
        assert spark.sql("select sum(id) as total from range(10)").collect()[0].total == 45
    finally:
        monkeypatch.undo()
        use_small_inputs(spark, state)  # the session's other tests run on a small state


@pytest.mark.spark
def test_a_scheduled_cycle_sizes_its_session_before_each_build(
        spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run --every` on the embedded Spark decides before each build: the small-input
    settings while the state is small, the session's own once it grew; no hook elsewhere."""
    from ingest.run.scheduler import CycleConfig, size_before_build
    from tests.support.staging import request

    state = _state(tmp_path, 3000, 1000)
    size = size_before_build(CycleConfig(request("spark", tmp_path, state=state, spark=spark),
                                         "sparkify"))
    assert size is not None
    try:
        monkeypatch.setattr(small_inputs, "SMALL_INPUT_BYTES", 3500)  # the state grew past it
        size()
        assert spark.conf.get("spark.sql.codegen.factoryMode") == "FALLBACK"
        assert spark.conf.get("spark.sql.shuffle.partitions") == "4"
        monkeypatch.undo()  # small again (a pruned state)
        size()
        assert {key: spark.conf.get(key) for key in SMALL_INPUT_CONFS} == SMALL_INPUT_CONFS
    finally:
        monkeypatch.undo()
        use_small_inputs(spark, state)
    assert size_before_build(CycleConfig(request("postgres", tmp_path, state=state),
                                         "sparkify")) is None
