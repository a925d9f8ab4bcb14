"""Check one raw object against the raw-format contract before anything is staged.

Every non-blank line must be a JSON object whose fields have the contract's types, with the
required fields present, and (for a daily log file) a `ts` on the file's UTC date. Lines
that fail are quarantined with their line number, text and reason; the others load. An
object that cannot be read at all (not UTF-8, or cut off in its last record, as when it is
still being written) is Unreadable: nothing of it loads and it is retried later.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ingest.raw_format import RAW_TABLES

REQUIRED: dict[str, tuple[str, ...]] = {
    "song_data": ("song_id", "title", "artist_id", "artist_name", "duration"),
    "log_data": ("ts", "sessionId", "itemInSession", "page", "userId", "auth", "level"),
}
_LOG_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})-events\.json$")
_MS_PER_DAY = 86_400_000
_EXPECTED = {"int": "an integer", "bigint": "an integer", "double": "a number",
             "string": "a string"}


class Unreadable(Exception):
    """The object as a whole cannot be read now; retry it on a later run."""


@dataclass(frozen=True)
class BadLine:
    line_number: int
    raw_text: str
    reason: str


@dataclass
class Verified:
    """What one object holds: good records (with their line numbers) and bad lines."""

    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    blank_lines: int = 0

    @property
    def non_blank_lines(self) -> int:
        return len(self.records) + len(self.bad)


def file_date(key: str) -> dt.date | None:
    """The UTC date a daily log file covers, from its name; None when the name has none."""
    match = _LOG_DATE.search(key)
    return dt.date.fromisoformat(match.group(1)) if match else None


def verify_object(table: str, key: str, body: bytes) -> Verified:
    """Split `body` into good records and quarantined lines; Unreadable if it cannot be read."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 at byte {exc.start} ({exc.reason})") from exc
    day = file_date(key) if table == "log_data" else None
    lines = text.split("\n")
    last = max((index for index, line in enumerate(lines) if line.strip()), default=-1)
    result = Verified()
    for index, line in enumerate(lines):
        if not line.strip():
            result.blank_lines += 1 if index < len(lines) - 1 or line else 0
            continue
        try:
            record = json.loads(line, parse_constant=_reject_constant)
        except ValueError as exc:
            if index == last and _cut_off(line):
                raise Unreadable(f"line {index + 1} ends mid-record: the object looks "
                                 "truncated or still being written") from exc
            result.bad.append(BadLine(index + 1, line, f"not valid JSON: {exc}"))
            continue
        problem = contract_problem(table, record, day)
        if problem:
            result.bad.append(BadLine(index + 1, line, problem))
        else:
            result.records.append((index + 1, record))
    return result


def contract_problem(table: str, record: Any, day: dt.date | None) -> str | None:
    """Why `record` breaks the raw-format contract, or None when it meets it."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, expected an object"
    for name in REQUIRED[table]:
        if record.get(name) is None:
            return f"required field {name!r} is missing or null"
    for name, kind, has_type in _CHECKS[table]:
        value = record.get(name)
        if value is not None and not has_type(value):
            return f"field {name!r} is {json.dumps(value)[:60]}, expected {_EXPECTED[kind]}"
    if day is not None:
        day_start = (day - _EPOCH).days * _MS_PER_DAY
        if not day_start <= record["ts"] < day_start + _MS_PER_DAY:
            ts_day = _EPOCH + dt.timedelta(days=record["ts"] // _MS_PER_DAY)
            return f"ts {record['ts']} falls on {ts_day}, outside the file's date {day}"
    return None


# Exact types: JSON gives int, float, str, bool (a bool is not a number here).
def _is_integer(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _is_text(value: Any) -> bool:
    return type(value) is int or (type(value) is str and "\x00" not in value)


_EPOCH = dt.date(1970, 1, 1)
_TYPE_CHECKS = {"int": _is_integer, "bigint": _is_integer, "double": _is_number,
                "string": _is_text}
_CHECKS = {table: tuple((name, kind, _TYPE_CHECKS[kind]) for name, kind in columns)
           for table, columns in RAW_TABLES.items()}


def _cut_off(line: str) -> bool:
    """A last line that does not close its object was cut off, not malformed."""
    return not line.rstrip().endswith("}")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number the raw format allows")
