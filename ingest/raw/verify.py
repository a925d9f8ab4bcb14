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
- a log line's `ts` falls on the file's UTC date;
- each value within what every target holds (ingest.raw.limits): ids not negative, `userId`
  "" or the canonical digits of an `int`, `ts` and `registration` within the years
  0001-9999 (epoch milliseconds), `length` and `duration` 0..1e9 seconds, text at most
  65,535 bytes of UTF-8, `level` and `gender` among the values the models accept.

Fields outside the contract are dropped from the records: nothing downstream reads them, so
nothing downstream has to cope with them.

How a line is parsed is ingest.raw.lines's job; what a parsed line must hold is
ingest.raw.rules's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ingest.raw.contract import RAW_TABLES
from ingest.raw.lines import JSON_SPACE, NESTED, LineProblem, parse_line, too_deep
from ingest.raw.rules import contract_problem

# what a quarantined line keeps of its text: storable in any text column, never huge
MAX_RAW_TEXT_BYTES = 64 * 1024

_LOG_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})-events\.json$", re.IGNORECASE)
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
_UTF8_BOM = "\ufeff".encode()
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


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
    text = body_text(body, final)
    names = _NAMES[table]
    has_nul = "\x00" in text
    has_escapes = "\\u" in text
    lines = text.split("\n")
    # the same lines as UTF-8, for orjson (which reads bytes faster than text)
    raw_lines = (body[3:] if body.startswith(_UTF8_BOM) else body).split(b"\n")
    last = _last_non_blank(lines)
    result = Verified()
    for index, line in enumerate(lines):
        if not line.strip(JSON_SPACE):
            result.blank_lines += 1 if index < len(lines) - 1 or line else 0
            continue
        try:
            record = parse_line(line, has_nul, raw_lines[index])
            reason = contract_problem(table, record, day,
                                      escapes=has_escapes and "\\u" in line)
            if reason is not None or not record.keys() <= names:  # the usual line: no call
                record = _judged(line, record, reason, names)
        except LineProblem as problem:
            why = problem.reason
            if index == last and problem.cut_off:
                if not final:
                    raise Unreadable(f"line {index + 1} ends mid-record: the object looks "
                                     "truncated or still being written") from None
                why = f"cut off mid-record and the object stopped changing ({why})"
            result.bad.append(_bad_line(index + 1, line, why))
            continue
        result.records.append((index + 1, record))
    return result


def check_line(table: str, line: str, data: bytes, day: dt.date | None = None) -> dict[str, Any]:
    """The record of one non-blank line (the contract's fields only), by every line rule;
    LineProblem with the reason when it breaks one. `data` is the line as UTF-8.

    The rules verify_object applies to each line of an object; the collection API
    (ingest.collect) applies them to each event it is posted, so both judge a line alike.
    """
    record = parse_line(line, True, data)
    reason = contract_problem(table, record, day)
    if reason is not None or not record.keys() <= _NAMES[table]:
        record = _judged(line, record, reason, _NAMES[table])
    return record  # type: ignore[no-any-return]


def _judged(line: str, record: Any, reason: str | None, names: frozenset[str]
            ) -> dict[str, Any]:
    """A parsed line that is not a plain good record: LineProblem (too deep, or the
    contract's `reason`), or the record without the fields outside the contract."""
    if too_deep(line):
        raise LineProblem(NESTED)
    if reason:
        raise LineProblem(reason)
    return {key: value for key, value in record.items() if key in names}


def _log_day(key: str) -> dt.date | None:
    """The date a log file's events must fall on; Rejected when its name holds no real date."""
    day = file_date(key)
    match = _LOG_DATE.search(key)
    if day is None and match:
        raise Rejected(f"the file name's date {match.group(1)} is not a calendar date")
    return day


def _last_non_blank(lines: list[str]) -> int:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip(JSON_SPACE):
            return index
    return -1


def body_text(body: bytes, final: bool) -> str:
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


_NAMES = {table: frozenset(name for name, _kind in columns)
          for table, columns in RAW_TABLES.items()}
