"""ingest.sample.cache: a generated folder is reused while its marker matches, else redone."""

from __future__ import annotations

from pathlib import Path

from ingest.sample.cache import generate_once, marker_path
from ingest.sample.generate import GenerateConfig

TINY = GenerateConfig(songs=4, days=2, events_per_day=10, seed=3)


def test_generates_once_then_reuses(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    stats = generate_once(folder, TINY, labels={"size": "tiny"})
    assert stats is not None and stats.log_files == 2
    assert marker_path(folder).is_file()
    assert generate_once(folder, TINY, labels={"size": "tiny"}) is None


def test_other_parameters_regenerate_from_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    generate_once(folder, TINY)
    stale = folder / "log_data" / "stale.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert generate_once(folder, TINY, labels={"size": "other"}) is not None
    assert not stale.exists()
    assert len(list((folder / "log_data").rglob("*.json"))) == TINY.days


def test_an_interrupted_generation_has_no_marker(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    generate_once(folder, TINY)
    marker_path(folder).unlink()
    assert generate_once(folder, TINY) is not None
