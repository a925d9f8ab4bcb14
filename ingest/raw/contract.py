"""The raw-format contract in one place: field names exactly as in the files, and their types.

Types are Spark SQL names; the warehouse loaders translate them per engine.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

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
# Provenance every staged row carries: the object it came from, and when it was staged.
# The dbt sources (models/staging/sparkify/_sparkify__sources.yml) name the same columns.
SOURCE_KEY = "_source_key"
INGESTED_AT = "_ingested_at"
PROVENANCE: Columns = ((SOURCE_KEY, "string"), (INGESTED_AT, "timestamp"))

# Every schema name the project creates or reads: the marts schema (--schema, SPARKIFY_SCHEMA,
# the dbt profiles' target schema) and the raw one (--raw-schema, SPARKIFY_RAW_SCHEMA). dbt
# pastes schema names into its SQL, quoted but not escaped, so this rule is all that stands
# between a name and the warehouse. At most 63 characters: PostgreSQL's limit (longer names
# are silently truncated, so two could collide; Redshift allows 127, Spark more). The same
# literal is in macros/overrides/generate_schema_name.sql, the gate on the dbt side (the
# profiles cannot raise an error); tests/models/test_schema_names.py checks that they are
# equal.
# Always use fullmatch: with match(), `$` would accept a trailing newline.
SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
SCHEMA_NAME_RULE = "use letters, digits and underscores, at most 63, not starting with a digit"


def validate_schema_name(name: str, setting: str) -> str:
    """`name` when it is a safe schema name; IngestError naming `setting` otherwise."""
    if not SCHEMA_NAME.fullmatch(name):
        raise IngestError(f"{setting} {name!r} is not a valid schema name: {SCHEMA_NAME_RULE}")
    return name


def schema_name_argument(setting: str) -> Callable[[str], str]:
    """argparse `type=` for a schema option. argparse converts a string default too, so a bad
    SPARKIFY_* default is refused like a bad option: usage and a one-line error, exit 2."""

    def check(name: str) -> str:
        try:
            return validate_schema_name(name, setting)
        except IngestError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return check
