"""A query killed mid-batch is seen in its checkpoint: the restart then builds what it lands."""

from __future__ import annotations

from pathlib import Path

from ingest.stream.query import interrupted_batch


def _write(checkpoint: Path, log_name: str, *names: str) -> None:
    (checkpoint / log_name).mkdir(parents=True, exist_ok=True)
    for name in names:
        (checkpoint / log_name / name).write_text("v1\n", encoding="utf-8")


def test_a_planned_batch_without_its_commit_is_interrupted(tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint"
    assert interrupted_batch(checkpoint) is None  # never started
    _write(checkpoint, "offsets", "0", ".0.crc")
    assert interrupted_batch(checkpoint) == 0  # killed in its first batch
    _write(checkpoint, "commits", "0", ".0.crc")
    assert interrupted_batch(checkpoint) is None
    _write(checkpoint, "offsets", "1", "2", ".2.tmp")
    _write(checkpoint, "commits", "1")
    assert interrupted_batch(checkpoint) == 2
