"""Progress lines for long work: at most one line every few seconds, on the logger."""

from __future__ import annotations

import logging
import threading
import time


class Progress:
    """Count done items and log `label: done/total (pct)` now and then, and at the end."""

    def __init__(self, logger: logging.Logger, label: str, total: int, every: float = 3.0) -> None:
        self.logger = logger
        self.label = label
        self.total = total
        self.every = every
        self.done = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.done += count
            now = time.monotonic()
            if now - self._last >= self.every and self.done < self.total:
                self._last = now
                self.logger.info("%s: %d/%d (%.0f%%)", self.label, self.done, self.total,
                                 100.0 * self.done / max(self.total, 1))
