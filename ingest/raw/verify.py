"""Check one raw object against the raw-format contract before anything is staged.

Every non-blank line must be a JSON object whose fields have the contract's types, with the
required fields present, and (for a daily log file) a `ts` on the file's UTC date. A line
that fails any rule is quarantined with its line number, text and reason; the others load.
No input makes verification crash: whatever a line holds, it either loads or is quarantined.

The object as a whole:

- Rejected (refused for good, with the reason): compressed (gzip, …), not UTF-8, or a log
  file whose name holds a date that is not a calendar date;
- Unreadable (retried later): it looks cut off while still being written, that is its last
  bytes end mid-character, or its last record stops mid-record. Once the object has stopped
  changing (`final`), a cut-off last record is quarantined instead and the rest loads. A
  last line is cut off when the parser runs out of input inside an object; a complete but
  invalid last line (`garbage`, `{"a": 1}}`) is quarantined at once. A leading byte order
  mark is dropped.

Line rules, the same for song_data and log_data:

- a line longer than MAX_LINE_BYTES or with a raw NUL byte is quarantined unparsed;
- it must be valid JSON (a number of more than 4300 digits counts as invalid), nested at most
  MAX_DEPTH levels (measured only on lines that are not plain records, so the usual line
  does not pay for it), and an object without duplicate field names;
- required fields present and not null; each contract field null or of its type: an `int`
  fits signed 32 bits and a `bigint` signed 64 bits (a bool or 1.0 is not an integer); a
  `double` is a finite number (NaN, Infinity and 1e400 are not); a `string` is a string
  (or an integer, kept as its digits) without NUL characters or lone surrogates;
- a log line's `ts` falls on the file's UTC date.

Fields outside the contract are dropped from the records: nothing downstream reads them, so
nothing downstream has to cope with them.

How a line is read (fast, with the same outcome): orjson reads it first, and its object is
taken only when it is provably the one the stdlib's json (with a hook refusing duplicate
names) reads: a flat object (no array or object values), no float of 2**63 or more (orjson
reads an integer beyond 64 bits as a float), no `\\u003a` escape, and the line's colons all
accounted for by the object's fields plus the colons in its names and strings (each field
owns one colon outside strings, so a dropped duplicate or a nested object leaves a colon
unaccounted for). Any other line, and every line orjson refuses (NaN, Infinity, 1e400, lone
surrogates, duplicates it would not see, …), is read by the stdlib path exactly as before,
which also words every reason. Everything after parsing is shared. tests/raw/test_verify_fast.py
compares the two against the previous implementation (tests/verify_reference.py).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import orjson

from ingest.raw.contract import RAW_TABLES

REQUIRED: dict[str, tuple[str, ...]] = {
    "song_data": ("song_id", "title", "artist_id", "artist_name", "duration"),
    "log_data": ("ts", "sessionId", "itemInSession", "page", "userId", "auth", "level"),
}
MAX_LINE_BYTES = 1024 * 1024
MAX_DEPTH = 64
# what a quarantined line keeps of its text: storable in any text column, never huge
MAX_RAW_TEXT_BYTES = 64 * 1024

_LOG_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})-events\.json$", re.IGNORECASE)
_MS_PER_DAY = 86_400_000
_EPOCH = dt.date(1970, 1, 1)
_JSON_SPACE = " \t\r"
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
_UTF8_BOM = "\ufeff".encode()
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")
_RANGES = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
_LARGEST_DOUBLE = int(sys.float_info.max)
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
_BRACKETS = re.compile(r'[\[\]{}"\\]')
# what is left of a line after the parser ran out of input inside a literal or a number
_PARTIAL_TOKEN = re.compile(r"-?(?:t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?|n(?:u(?:ll?)?)?"
                            r"|N(?:aN?)?|I(?:n(?:f(?:i(?:n(?:i(?:ty?)?)?)?)?)?)?)?"
                            r"|[.eE][+-]?")
_NESTED = f"nested too deeply: more than {MAX_DEPTH} levels"
# orjson reads an integer outside int64 and uint64 as a float, of at least this size
_INT64_EDGE = 2.0**63


class Unreadable(Exception):
    """The object cannot be read now (it may still be being written); retry it later."""


class Rejected(Exception):
    """The object is refused whole, for good: no line of it can be read as the contract's."""


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


class _LineProblem(Exception):
    """Why one line cannot be parsed; `cut_off` when it stops where a record was going on."""

    def __init__(self, reason: str, cut_off: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cut_off = cut_off


def file_date(key: str) -> dt.date | None:
    """The UTC date a daily log file covers, from its name; None when the name has none."""
    match = _LOG_DATE.search(key)
    try:
        return dt.date.fromisoformat(match.group(1)) if match else None
    except ValueError:  # 2018-02-30
        return None


def verify_object(table: str, key: str, body: bytes, *, final: bool = False) -> Verified:
    """Split `body` into good records and quarantined lines.

    Rejected when the object can never be read, Unreadable when it looks still being
    written; `final` says it has stopped changing, so a cut-off last line is just bad.
    """
    day = _log_day(key) if table == "log_data" else None
    text = _text(body, final)
    names = _NAMES[table]
    has_nul = "\x00" in text
    has_escapes = "\\u" in text
    lines = text.split("\n")
    # the same lines as UTF-8, for orjson (which reads bytes faster than text)
    raw_lines = (body[3:] if body.startswith(_UTF8_BOM) else body).split(b"\n")
    last = _last_non_blank(lines)
    result = Verified()
    for index, line in enumerate(lines):
        if not line.strip(_JSON_SPACE):
            result.blank_lines += 1 if index < len(lines) - 1 or line else 0
            continue
        try:
            record = _parse(line, has_nul, raw_lines[index])
        except _LineProblem as problem:
            why = problem.reason
            if index == last and problem.cut_off:
                if not final:
                    raise Unreadable(f"line {index + 1} ends mid-record: the object looks "
                                     "truncated or still being written") from None
                why = f"cut off mid-record and the object stopped changing ({why})"
            result.bad.append(_bad_line(index + 1, line, why))
            continue
        reason = contract_problem(table, record, day, escapes=has_escapes and "\\u" in line)
        if reason is None and record.keys() <= names:
            result.records.append((index + 1, record))
        elif _too_deep(line):
            result.bad.append(_bad_line(index + 1, line, _NESTED))
        elif reason:
            result.bad.append(_bad_line(index + 1, line, reason))
        else:
            result.records.append((index + 1, {k: v for k, v in record.items() if k in names}))
    return result


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


def _log_day(key: str) -> dt.date | None:
    """The date a log file's events must fall on; Rejected when its name holds no real date."""
    day = file_date(key)
    match = _LOG_DATE.search(key)
    if day is None and match:
        raise Rejected(f"the file name's date {match.group(1)} is not a calendar date")
    return day


def _last_non_blank(lines: list[str]) -> int:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip(_JSON_SPACE):
            return index
    return -1


def _text(body: bytes, final: bool) -> str:
    """The body as text, without a leading byte order mark; Rejected or Unreadable if none."""
    for magic, name in _COMPRESSED:
        if body.startswith(magic):
            raise Rejected(f"{name}-compressed: the object starts with bytes "
                           f"{magic.hex(' ')}; the raw format is plain UTF-8 JSON lines")
    if body.startswith(_UTF16_MARKS):
        raise Rejected("not UTF-8: the object starts with a UTF-16 byte order mark "
                       f"({body[:2].hex(' ')})")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut_char = exc.reason == "unexpected end of data" and exc.start >= len(body) - 3
        if cut_char and not final:
            raise Unreadable(f"ends mid-character at byte {exc.start}: the object looks "
                             "truncated or still being written") from None
        raise Rejected(f"not UTF-8 at byte {exc.start} ({exc.reason})") from None
    return text[1:] if text.startswith("\ufeff") else text


def _parse(line: str, has_nul: bool, data: bytes) -> Any:
    """The JSON value of one line (`data`: the line as UTF-8); _LineProblem when it has none
    the contract could take."""
    if len(line) * 4 > MAX_LINE_BYTES and len(line.encode("utf-8")) > MAX_LINE_BYTES:
        raise _LineProblem(f"line of {len(line.encode('utf-8'))} bytes, longer than the "
                           f"{MAX_LINE_BYTES}-byte limit")
    if has_nul and "\x00" in line:
        raise _LineProblem(f"a raw NUL byte at character {line.index(chr(0)) + 1}")
    record = _fast_parse(data)
    if record is not None:
        return record
    try:
        return _DECODE(line)
    except json.JSONDecodeError as exc:
        raise _LineProblem(f"not valid JSON: {exc}", _ran_out(line, exc)) from None
    except RecursionError:
        raise _LineProblem(_NESTED) from None
    except ValueError as exc:  # int() refuses numbers of more than 4300 digits
        raise _LineProblem(f"not valid JSON: a number too long to read ({exc})") from None


def _fast_parse(data: bytes) -> dict[str, Any] | None:
    """The object on a line (as UTF-8) as the stdlib path reads it, or None: take that path.

    orjson reads a line as the stdlib does, except that it keeps the last of duplicate field
    names, reads an integer beyond 64 bits as a float, and refuses more (NaN, Infinity,
    1e400, lone surrogates, deep nesting: all left to the stdlib path, which says why). So
    its object is taken only when it is flat (no array or object values), holds no float
    that could be such an integer (at least 2**63 in size), and its field names account for
    every colon of the line. In JSON a colon is either a field's (one each) or written in a
    string, so the line's colons are: the object's fields, those of any duplicate or nested
    object, and every colon written in a string. The colons of the parsed names and strings
    are exactly the ones written in them when no string holds a `\\u003a` escape (such a
    line takes the stdlib path), so when the fields and their strings' colons add up to the
    line's colons, no field was dropped.
    """
    try:
        record = _ORJSON_LOADS(data)
    except orjson.JSONDecodeError:
        return None
    if type(record) is not dict or b"\\u003" in data:
        return None
    # the colons not yet accounted for; never below 0 (see above), so once 0 it stays 0
    colons = data.count(b":") - len(record)
    for value in record.values():
        kind = type(value)
        if kind is str:
            if colons:
                colons -= value.count(":")
        elif kind is float:
            if not -_INT64_EDGE < value < _INT64_EDGE:
                return None
        elif kind is dict or kind is list:
            return None
    if colons:
        colons -= sum(name.count(":") for name in record)
    return None if colons else record


def _unique_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's fields as a dict; _LineProblem when a name occurs twice (which wins?)."""
    fields = dict(pairs)
    if len(fields) != len(pairs):
        seen: set[str] = set()
        for name, _value in pairs:
            if name in seen:
                raise _LineProblem(f"duplicate field {_show(name)} in an object")
            seen.add(name)
    return fields


def _too_deep(line: str) -> bool:
    """Whether the arrays and objects of `line` nest more than MAX_DEPTH levels deep."""
    if line.count("[") + line.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _BRACKETS.finditer(line):
        char, at = match.group(), match.start()
        if in_string:
            if char == "\\" and at != escaped_at:
                escaped_at = at + 1
            elif char == '"' and at != escaped_at:
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _ran_out(line: str, exc: json.JSONDecodeError) -> bool:
    """An object the parser found unfinished: the line ends where more of it should follow."""
    if not line.lstrip(_JSON_SPACE).startswith("{") or exc.msg == "Extra data":
        return False
    if exc.msg.startswith("Unterminated string"):
        return True
    rest = line[exc.pos:].rstrip(_JSON_SPACE)
    if exc.msg.startswith("Invalid \\uXXXX escape"):
        return len(rest) <= 5 and all(char in "0123456789abcdefABCDEF" for char in rest[1:])
    return _PARTIAL_TOKEN.fullmatch(rest) is not None


def _bad_line(number: int, line: str, reason: str) -> BadLine:
    """A quarantined line whose text any text column can store: no NUL, at most 64 KiB."""
    text = line.replace("\x00", "\\x00") if "\x00" in line else line
    if len(text) * 4 > MAX_RAW_TEXT_BYTES:
        encoded = text.encode("utf-8")
        if len(encoded) > MAX_RAW_TEXT_BYTES:
            kept = encoded[:MAX_RAW_TEXT_BYTES].decode("utf-8", errors="ignore")
            text = (f"{kept}… [cut: the line is {len(line.encode('utf-8'))} bytes, "
                    f"the first {MAX_RAW_TEXT_BYTES} are kept]")
    return BadLine(number, text, reason)


def _type_problem(name: str, kind: str, value: Any) -> str:
    shown = _show(value)
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


def _show(value: Any) -> str:
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
_NAMES = {table: frozenset(name for name, _kind in columns)
          for table, columns in RAW_TABLES.items()}
_DECODE = json.JSONDecoder(object_pairs_hook=_unique_fields).decode
_ORJSON_LOADS = orjson.loads
