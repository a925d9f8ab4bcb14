"""Waiting for the dbt project to change: its fingerprint (the names and contents of its
models, macros, seeds, tests and dbt_project.yml), polled, and taken as changed once it has
stayed the same for a moment (an editor writes a file in several steps)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.run.project_files import project_fingerprint


@dataclass
class ProjectWatch:
    """The project's fingerprint as last built, and a wait for the next change."""

    project: Path
    poll_seconds: float = 0.5
    settle_seconds: float = 0.3
    fingerprint: Callable[[Path], str] = project_fingerprint
    sleep: Callable[[float], None] = time.sleep
    seen: str = ""

    def mark_built(self) -> None:
        """The project as it is now is what the last build read."""
        self.seen = self._current()

    def _current(self) -> str:
        try:
            return self.fingerprint(self.project)
        except OSError:  # a file went away while it was read (an editor saving): changed
            return ""

    def wait_for_change(self, keep_waiting: Callable[[], bool] = lambda: True) -> bool:
        """Block until the project differs from what was built and has settled; False when
        `keep_waiting` says to stop first."""
        while keep_waiting():
            current = self._current()
            if current != self.seen:
                self.sleep(self.settle_seconds)
                if current and self._current() == current:
                    return True
                continue
            self.sleep(self.poll_seconds)
        return False
