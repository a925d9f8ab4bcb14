"""The raw-format contract's rules for one parsed line: required fields, types, the day.

Required fields are present and not null; each contract field is null or of its type: an
`int` fits signed 32 bits and a `bigint` signed 64 bits (a bool or 1.0 is not an integer);
a `double` is a finite number (NaN, Infinity and 1e400 are not); a `string` is a string (or
an integer, kept as its digits) without NUL characters or lone surrogates; a log line's
`ts` falls on the file's UTC date. Then each value is held to what every target's types
hold (ingest.raw.limits): ids, epoch milliseconds, seconds, text length and the accepted
levels and genders, so that no accepted line can fail a build on any engine. Checks use
exact types and precomputed field lists: they run once per line of every staged object.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from dataclasses import dataclass
from typing import Any

from ingest.raw import limits
from ingest.raw.contract import RAW_TABLES

REQUIRED: dict[str, tuple[str, ...]] = {
    "song_data": ("song_id", "title", "artist_id", "artist_name", "duration"),
    "log_data": ("ts", "sessionId", "itemInSession", "page", "userId", "auth", "level"),
}
_MS_PER_DAY = 86_400_000
_EPOCH = dt.date(1970, 1, 1)
_RANGES = {"int": (limits.INT_MIN, limits.INT_MAX),
           "bigint": (limits.BIGINT_MIN, limits.BIGINT_MAX)}
_LARGEST_DOUBLE = int(sys.float_info.max)
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
_INT_MIN, _INT_MAX = limits.INT_MIN, limits.INT_MAX
_BIGINT_MIN, _BIGINT_MAX = limits.BIGINT_MIN, limits.BIGINT_MAX
_INT_MAX_TEXT = str(limits.INT_MAX)
_INT_MAX_DIGITS = len(_INT_MAX_TEXT)
_MAX_SECONDS = limits.MAX_SECONDS
_EPOCH_MS_MIN, _EPOCH_MS_MAX = limits.EPOCH_MS_MIN, limits.EPOCH_MS_MAX
_MAX_TEXT_BYTES, _UNCHECKED_CHARS = limits.MAX_TEXT_BYTES, limits.MAX_TEXT_CHARS_UNCHECKED


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
    for name, low, high in spec.ints:
        value = get(name)
        if value is not None and (type(value) is not int or not low <= value <= high):
            return _number_problem(name, "int", value, low, high)
    for name in spec.bigints:
        value = get(name)
        if value is not None and (type(value) is not int
                                  or not _BIGINT_MIN <= value <= _BIGINT_MAX):
            return _type_problem(name, "bigint", value)
    for name, low, high in spec.doubles:
        value = get(name)
        if value is not None and (not _is_double(value) or not low <= value <= high):
            return _number_problem(name, "double", value, low, high)
    for name in spec.strings:
        value = get(name)
        if value is not None and type(value) is not str and type(value) is not int:
            return _type_problem(name, "string", value)
        if type(value) is str:
            if escapes and _NOT_TEXT.search(value):
                return _text_problem(name, value)
            if len(value) > _UNCHECKED_CHARS and len(value.encode()) > _MAX_TEXT_BYTES:
                return _too_long(name, value)
    if day is not None:
        day_start = (day - _EPOCH).days * _MS_PER_DAY
        if not day_start <= record["ts"] < day_start + _MS_PER_DAY:
            try:
                ts_day = str(_EPOCH + dt.timedelta(days=record["ts"] // _MS_PER_DAY))
            except (OverflowError, ValueError):  # beyond the years 1-9999
                ts_day = "no calendar date"
            return f"ts {record['ts']} falls on {ts_day}, outside the file's date {day}"
    for name, low, high in spec.bigint_limits:  # after the file's date: its reason first
        value = get(name)
        if value is not None and not low <= value <= high:
            return _limit_problem(name, value, low, high)
    for name in spec.user_ids:
        value = get(name)
        if value and not _is_user_id(value):  # "" and 0 are user ids
            return (f"field {name!r} is {show_value(value)}: a user id is \"\" or the digits "
                    f"of an integer 0..{_INT_MAX} (no sign, space or leading zero)")
    for name, accepted in spec.enums:
        value = get(name)
        if value is not None and value not in accepted:
            return (f"field {name!r} is {show_value(value)}, expected one of "
                    + ", ".join(json.dumps(choice) for choice in accepted))
    return None


def _number_problem(name: str, kind: str, value: Any, low: float, high: float) -> str:
    """Why a number is not of its type, or beyond its field's limit (`low`..`high`)."""
    if kind == "int" and (type(value) is not int or not _INT_MIN <= value <= _INT_MAX):
        return _type_problem(name, kind, value)
    if kind == "double" and not _is_double(value):
        return _type_problem(name, kind, value)
    return _limit_problem(name, value, low, high)


def _limit_problem(name: str, value: Any, low: float, high: float) -> str:
    shown = show_value(value)
    if low == 0 and high == _INT_MAX:
        return f"field {name!r} is {shown}: an id is not negative"
    if (low, high) == (_EPOCH_MS_MIN, _EPOCH_MS_MAX):
        return (f"field {name!r} is {shown}, outside the epoch milliseconds "
                f"{_EPOCH_MS_MIN}..{_EPOCH_MS_MAX} ({limits.EPOCH_MS_RANGE_TEXT}) every "
                "target's timestamps hold")
    return f"field {name!r} is {shown}, outside the range {low}..{high} seconds"


def _is_user_id(value: Any) -> bool:
    """The canonical digits of an integer 0..INT_MAX, or such an integer (not "" nor 0)."""
    if type(value) is str:
        # ASCII digits without a leading zero, at most INT_MAX (as long, compared as text)
        return (value.isdigit() and value.isascii() and (value[0] != "0" or value == "0")
                and (len(value) < _INT_MAX_DIGITS
                     or (len(value) == _INT_MAX_DIGITS and value <= _INT_MAX_TEXT)))
    return type(value) is int and 0 < value <= _INT_MAX


def _too_long(name: str, value: str) -> str:
    return (f"field {name!r} is {len(value.encode())} bytes of UTF-8, over the "
            f"{_MAX_TEXT_BYTES}-byte limit of a text value (Redshift's varchar(max))")


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
    """One raw table's fields by contract type and limit, for exact-type checks without
    lookups: numbers with the range their field's limit allows (ingest.raw.limits)."""

    required: tuple[str, ...]
    ints: tuple[tuple[str, float, float], ...]
    bigints: tuple[str, ...]
    doubles: tuple[tuple[str, float, float], ...]
    strings: tuple[str, ...]
    bigint_limits: tuple[tuple[str, float, float], ...]
    user_ids: tuple[str, ...]
    enums: tuple[tuple[str, tuple[str, ...]], ...]


_RANGE_OF_LIMIT = {"id": (0, limits.INT_MAX),
                   "epoch_ms": (limits.EPOCH_MS_MIN, limits.EPOCH_MS_MAX),
                   "seconds": (0, limits.MAX_SECONDS)}
_ACCEPTED = {"level": limits.LEVELS, "gender": limits.GENDERS}
_ANY_NUMBER = {"int": (limits.INT_MIN, limits.INT_MAX), "double": (-math.inf, math.inf)}


def _spec(table: str) -> _Spec:
    columns = RAW_TABLES[table]
    field_limits = limits.FIELD_LIMITS[table]

    def of(kind: str) -> tuple[str, ...]:
        return tuple(name for name, column_kind in columns if column_kind == kind)

    def ranged(kind: str) -> tuple[tuple[str, float, float], ...]:
        return tuple((name, *_RANGE_OF_LIMIT.get(field_limits.get(name, ""), _ANY_NUMBER[kind]))
                     for name in of(kind))

    limited = [name for name in of("bigint") if field_limits.get(name) in _RANGE_OF_LIMIT]
    return _Spec(
        REQUIRED[table], ranged("int"), of("bigint"), ranged("double"), of("string"),
        tuple((name, *_RANGE_OF_LIMIT[field_limits[name]]) for name in limited),
        tuple(name for name in of("string") if field_limits.get(name) == "user_id"),
        tuple((name, _ACCEPTED[limit]) for name, limit in field_limits.items()
              if limit in _ACCEPTED))


_JSON_NAMES = {list: "list", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}
_EXPECTED = {"int": "an integer", "bigint": "an integer", "double": "a number",
             "string": "a string"}
_SPECS = {table: _spec(table) for table in RAW_TABLES}
