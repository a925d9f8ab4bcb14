"""Export marts canonically from any engine and compare them table by table, row by row."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tests.support.expected_marts import canonical

MARTS = ("fct_songplays", "dim_users", "dim_songs", "dim_artists", "dim_time")
Export = dict[str, list[tuple[Any, ...]]]


def export_marts(fetch: Callable[[str], list[dict[str, Any]]]) -> Export:
    """`fetch(mart)` returns the mart's rows as dicts; the export is canonical and sorted."""
    return {mart: canonical(fetch(mart)) for mart in MARTS}


def differences(left: Export, right: Export, names: tuple[str, str] = ("left", "right"),
                limit: int = 5) -> list[str]:
    """Readable differences between two exports; empty when identical."""
    found: list[str] = []
    for mart in MARTS:
        a, b = left.get(mart, []), right.get(mart, [])
        if len(a) != len(b):
            found.append(f"{mart}: {len(a)} rows on {names[0]}, {len(b)} on {names[1]}")
        rows_a, rows_b = set(a), set(b)
        only_a = sorted(rows_a - rows_b, key=str)[:limit]
        only_b = sorted(rows_b - rows_a, key=str)[:limit]
        for row in only_a:
            found.append(f"{mart}: only on {names[0]}: {_show(row)}")
        for row in only_b:
            found.append(f"{mart}: only on {names[1]}: {_show(row)}")
    return found


def assert_same_marts(exports: Mapping[str, Export]) -> None:
    """Every engine's export equals the first one's; the message lists the differing rows."""
    (first_name, first), *others = exports.items()
    problems = [
        line
        for name, export in others
        for line in differences(first, export, (first_name, name))
    ]
    assert not problems, "marts differ between engines:\n  " + "\n  ".join(problems)


def _show(row: tuple[Any, ...]) -> str:
    return ", ".join(f"{column}={value!r}" for column, value in row)
