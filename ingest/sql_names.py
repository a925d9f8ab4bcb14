"""SQL identifiers and string literals, checked or quoted: never pasted raw.

One low module every layer may use (the staging targets, the runner's mart counts, the
report's readers, the ledger's tables): Spark SQL quotes names with backticks, PostgreSQL
and Redshift with double quotes; both quote strings with single quotes, escaped their way.
"""

from __future__ import annotations

import re

from ingest.errors import IngestError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,126}$")


def validate_identifier(name: str) -> str:
    """`name` when it is a plain SQL identifier; IngestError otherwise (never pasted raw)."""
    if not IDENTIFIER.fullmatch(name):  # fullmatch: `$` alone lets a trailing newline through
        raise IngestError(f"invalid identifier {name!r}: use letters, digits and underscores")
    return name


def quote_identifier(name: str) -> str:
    """A Spark SQL name: checked, in backticks."""
    return f"`{validate_identifier(name)}`"


def quote_string(value: str) -> str:
    """A Spark SQL string literal (backslash escapes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def qualified(schema: str, table: str) -> str:
    """`"schema"."table"` for PostgreSQL and Redshift, both names checked."""
    return f'"{validate_identifier(schema)}"."{validate_identifier(table)}"'


def sql_string(value: str) -> str:
    """A PostgreSQL / Redshift string literal (quotes doubled, backslashes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
