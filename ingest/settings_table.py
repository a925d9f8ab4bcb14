"""The table of every environment variable `ingest.settings` reads: Markdown for
docs/settings.md (`python -m ingest.settings_table` prints it; tests/test_settings.py
compares the two) and plain text for the end of `python -m ingest --help`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.settings import GROUPS, env_names


@dataclass(frozen=True)
class Row:
    """One environment variable as the docs and --help show it."""

    names: tuple[str, ...]
    default: str
    meaning: str


def _shown(value: object) -> str:
    if value is None or value == ():
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def settings_rows() -> Iterator[Row]:
    for group in GROUPS:
        for field in group.model_fields.values():
            yield Row(env_names(field), _shown(field.default), str(field.description))


def settings_table() -> str:
    """The Markdown table of every variable (docs/settings.md holds a copy; a test compares)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for row in settings_rows():
        names = ", else ".join(f"`{name}`" for name in row.names)
        default = f"`{row.default}`" if row.default else "-"
        lines.append(f"| {names} | {default} | {row.meaning} |")
    return "\n".join(lines) + "\n"


def settings_text() -> str:
    """The same table as plain text, for `python -m ingest --help`."""
    rows = [(" / ".join(row.names), row.default or "-", row.meaning)
            for row in settings_rows()]
    width = max(len(name) for name, _, _ in rows)
    deflt = max(len(default) for _, default, _ in rows)
    return "\n".join(f"  {name:<{width}}  {default:<{deflt}}  {meaning}"
                     for name, default, meaning in rows)


if __name__ == "__main__":
    print(settings_table(), end="")
