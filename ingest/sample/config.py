"""What to generate (GenerateConfig) and what was written (GenerateStats)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class GenerateConfig:
    """What to generate; the defaults give a set the size of the public sample."""

    songs: int = 71
    days: int = 30
    events_per_day: int = 270
    seed: int = 42
    start_date: datetime.date = datetime.date(2018, 11, 1)
    users: int | None = None
    known_song_share: float = 0.4
    duplicate_share: float = 0.002
    blank_line_share: float = 0.001

    @property
    def user_count(self) -> int:
        """`users`, or one user per ~70 events (between 10 and 5000)."""
        if self.users is not None:
            return self.users
        return max(10, min(5000, self.events_per_day * self.days // 70))

    def validate(self) -> None:
        """Raise ValueError on counts below zero or shares outside [0, 1]."""
        for name in ("songs", "days", "events_per_day", "user_count"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.events_per_day > 0 and self.user_count < 1:
            raise ValueError("events need at least one user")
        for name in ("known_song_share", "duplicate_share", "blank_line_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")


@dataclass(frozen=True)
class GenerateStats:
    """What was written; events and next_song_events count duplicate lines too."""

    song_files: int
    log_files: int
    events: int
    next_song_events: int
    bytes_written: int
