"""The raw-format contract's rules for one parsed line: required fields, types, the day.

Required fields are present and not null; each contract field is null or of its type: an
`int` fits signed 32 bits and a `bigint` signed 64 bits (a bool or 1.0 is not an integer);
a `double` is a finite number (NaN, Infinity and 1e400 are not); a `string` is a string (or
an integer, kept as its digits) without NUL characters or lone surrogates; a log line's
`ts` falls on the file's UTC date. Checks use exact types and precomputed field lists: they
run once per line of every staged object.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from dataclasses import dataclass
from typing import Any

from ingest.raw.contract import RAW_TABLES

REQUIRED: dict[str, tuple[str, ...]] = {
    "song_data": ("song_id", "title", "artist_id", "artist_name", "duration"),
    "log_data": ("ts", "sessionId", "itemInSession", "page", "userId", "auth", "level"),
}
_MS_PER_DAY = 86_400_000
_EPOCH = dt.date(1970, 1, 1)
_RANGES = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
_LARGEST_DOUBLE = int(sys.float_info.max)
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def contract_problem(table: str, record: Any, day: dt.date | None, *,
                     escapes: bool = True) -> str | None:
    """Why `record` breaks the raw-format contract, or None when it meets it.

    `escapes=False` says the record's line holds no `\\u` escape, the only way a NUL
    character or a lone surrogate gets into a string: their search is skipped.
    """
    if type(record) is not dict:
        return f"a JSON {_JSON_NAMES.get(type(record), 'value')}, expected an object"
    spec = _SPECS[table]
    get = record.get
    for name in spec.required:
        if get(name) is None:
            return f"required field {name!r} is missing or null"
    for name in spec.ints:
        value = get(name)
        if value is not None and (type(value) is not int
                                  or not -2147483648 <= value <= 2147483647):
            return _type_problem(name, "int", value)
    for name in spec.bigints:
        value = get(name)
        if value is not None and (type(value) is not int or not
                                  -9223372036854775808 <= value <= 9223372036854775807):
            return _type_problem(name, "bigint", value)
    for name in spec.doubles:
        value = get(name)
        if value is not None and not _is_double(value):
            return _type_problem(name, "double", value)
    for name in spec.strings:
        value = get(name)
        if value is not None and type(value) is not str and type(value) is not int:
            return _type_problem(name, "string", value)
        if escapes and type(value) is str and _NOT_TEXT.search(value):
            return _text_problem(name, value)
    if day is not None:
        day_start = (day - _EPOCH).days * _MS_PER_DAY
        if not day_start <= record["ts"] < day_start + _MS_PER_DAY:
            try:
                ts_day = str(_EPOCH + dt.timedelta(days=record["ts"] // _MS_PER_DAY))
            except (OverflowError, ValueError):  # beyond the years 1-9999
                ts_day = "no calendar date"
            return f"ts {record['ts']} falls on {ts_day}, outside the file's date {day}"
    return None


def _type_problem(name: str, kind: str, value: Any) -> str:
    shown = show_value(value)
    if kind in _RANGES and type(value) is int:
        low, high = _RANGES[kind]
        return f"field {name!r} is {shown}, outside the {kind} range {low}..{high}"
    if kind == "double" and type(value) is float:
        return f"field {name!r} is {shown}: not a finite number"
    if kind == "double" and type(value) is int:
        return f"field {name!r} is {shown}, too large for a double: not a finite number"
    return f"field {name!r} is {shown}, expected {_EXPECTED[kind]}"


def _text_problem(name: str, value: str) -> str:
    """Why a string holding a NUL character or a lone surrogate cannot be stored."""
    char = _NOT_TEXT.search(value)
    assert char is not None
    what = "a NUL character" if char.group() == "\x00" else "a lone surrogate"
    return f"field {name!r} holds {what} ({json.dumps(char.group())}) at character " \
           f"{char.start() + 1}"


def show_value(value: Any) -> str:
    """A short, printable rendering of a JSON value for a reason."""
    if type(value) is int and value.bit_length() > 128:
        return f"a {len(str(abs(value)))}-digit integer"
    if type(value) is str and len(value) > 60:
        return json.dumps(value[:60])[:-1] + '…"'
    try:
        text = json.dumps(value)
    except RecursionError:
        return "a deeply nested value"
    return text if len(text) <= 60 else text[:60] + "…"


def _is_double(value: Any) -> bool:
    """A finite float, or an integer a double can hold (JSON gives int, float, str, bool)."""
    if type(value) is float:
        return value - value == 0.0  # False for inf and nan
    return type(value) is int and -_LARGEST_DOUBLE <= value <= _LARGEST_DOUBLE


@dataclass(frozen=True)
class _Spec:
    """One raw table's fields by contract type, for exact-type checks without lookups."""

    required: tuple[str, ...]
    ints: tuple[str, ...]
    bigints: tuple[str, ...]
    doubles: tuple[str, ...]
    strings: tuple[str, ...]


def _spec(table: str) -> _Spec:
    columns = RAW_TABLES[table]

    def of(kind: str) -> tuple[str, ...]:
        return tuple(name for name, column_kind in columns if column_kind == kind)

    return _Spec(REQUIRED[table], of("int"), of("bigint"), of("double"), of("string"))


_JSON_NAMES = {list: "list", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}
_EXPECTED = {"int": "an integer", "bigint": "an integer", "double": "a number",
             "string": "a string"}
_SPECS = {table: _spec(table) for table in RAW_TABLES}
