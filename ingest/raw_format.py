"""The raw-format contract in one place: field names exactly as in the files, and their types.

Types are Spark SQL names; the warehouse loaders translate them per engine.
"""

from __future__ import annotations

import re

from ingest.errors import IngestError

Columns = tuple[tuple[str, str], ...]

SONG_COLUMNS: Columns = (
    ("num_songs", "int"),
    ("artist_id", "string"),
    ("artist_latitude", "double"),
    ("artist_longitude", "double"),
    ("artist_location", "string"),
    ("artist_name", "string"),
    ("song_id", "string"),
    ("title", "string"),
    ("duration", "double"),
    ("year", "int"),
)
LOG_COLUMNS: Columns = (
    ("artist", "string"),
    ("auth", "string"),
    ("firstName", "string"),
    ("gender", "string"),
    ("itemInSession", "int"),
    ("lastName", "string"),
    ("length", "double"),
    ("level", "string"),
    ("location", "string"),
    ("method", "string"),
    ("page", "string"),
    ("registration", "double"),
    ("sessionId", "int"),
    ("song", "string"),
    ("status", "int"),
    ("ts", "bigint"),
    ("userAgent", "string"),
    ("userId", "string"),
)
RAW_TABLES: dict[str, Columns] = {"song_data": SONG_COLUMNS, "log_data": LOG_COLUMNS}

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,126}$")


def validate_identifier(name: str) -> str:
    """`name` when it is a plain SQL identifier; IngestError otherwise (never pasted raw)."""
    if not IDENTIFIER.match(name):
        raise IngestError(f"invalid identifier {name!r}: use letters, digits and underscores")
    return name
