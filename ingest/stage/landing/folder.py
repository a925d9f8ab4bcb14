"""Where a source's landing is: one folder per source under the state's `landing/`, named
readably and uniquely, and the `verified/` folders the raw tables read."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.paths import StatePaths
from ingest.raw.sources import SourceLocation


def landing_folder(state: StatePaths, source: SourceLocation) -> Path:
    """One landing folder per source, named readably and uniquely."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", source.uri).strip("-")[-60:]
    digest = hashlib.sha1(source.uri.encode(), usedforsecurity=False).hexdigest()[:10]
    return state.landing / f"{readable}-{digest}"


@dataclass(frozen=True)
class Landing:
    """A source's landing folder, worked out once where a stage starts."""

    folder: Path

    @classmethod
    def of(cls, state: StatePaths, source: SourceLocation) -> Landing:
        return cls(landing_folder(state, source))

    @property
    def verified(self) -> Path:
        """The folder of the files the Spark tables read."""
        return self.folder / "verified"

    @property
    def song_location(self) -> str:
        return str(self.verified / "song_data")

    @property
    def log_location(self) -> str:
        return str(self.verified / "log_data")
