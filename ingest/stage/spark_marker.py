"""Registration markers: a file next to the metastore saying the raw tables were registered
there by exactly these statements, so a stage with nothing new need not start Spark."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ingest.paths import StatePaths


def registration_marker(state: StatePaths, statements: list[str]) -> Path:
    """The marker of `statements` (it exists once they were run)."""
    digest = hashlib.sha256("\n".join(statements).encode()).hexdigest()[:16]
    return state.spark / "registered" / f"{digest}.sql"


def is_registered(state: StatePaths, statements: list[str]) -> bool:
    return registration_marker(state, statements).is_file()


def record_registered(state: StatePaths, statements: list[str]) -> None:
    marker = registration_marker(state, statements)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("\n".join(statements), encoding="utf-8")
