"""ingest.spark.small_inputs: the small-input session settings while a state is small, Spark's
own past the bound; counting stops once past it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.paths import StatePaths
from ingest.spark import small_inputs
from ingest.spark.small_inputs import SMALL_INPUT_CONFS, data_bytes, input_confs


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
