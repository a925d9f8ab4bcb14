"""One raw line as JSON: the value the contract's rules then judge, or why there is none.

A line longer than MAX_LINE_BYTES or with a raw NUL byte is refused unparsed; it must be
valid JSON (a number of more than 4300 digits counts as invalid), nested at most MAX_DEPTH
levels (`too_deep`, measured only on lines that are not plain records), and an object
without duplicate field names.

How a line is read (fast, with the same outcome): orjson reads it first, and its object is
taken only when it is provably the one the stdlib's json (with a hook refusing duplicate
names) reads: a flat object (no array or object values), no float of 2**63 or more (orjson
reads an integer beyond 64 bits as a float), no `\\u003a` escape, and the line's colons all
accounted for by the object's fields plus the colons in its names and strings (each field
owns one colon outside strings, so a dropped duplicate or a nested object leaves a colon
unaccounted for). Any other line, and every line orjson refuses (NaN, Infinity, 1e400, lone
surrogates, duplicates it would not see, …), is read by the stdlib path exactly as before,
which also words every reason. Everything after parsing is shared (ingest.raw.rules);
tests/raw/test_verify_fast.py compares the two paths.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from ingest.raw.rules import show_value

MAX_LINE_BYTES = 1024 * 1024
MAX_DEPTH = 64
JSON_SPACE = " \t\r"
_BRACKETS = re.compile(r'[\[\]{}"\\]')
# what is left of a line after the parser ran out of input inside a literal or a number
_PARTIAL_TOKEN = re.compile(r"-?(?:t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?|n(?:u(?:ll?)?)?"
                            r"|N(?:aN?)?|I(?:n(?:f(?:i(?:n(?:i(?:ty?)?)?)?)?)?)?)?"
                            r"|[.eE][+-]?")
NESTED = f"nested too deeply: more than {MAX_DEPTH} levels"
# orjson reads an integer outside int64 and uint64 as a float, of at least this size
_INT64_EDGE = 2.0**63


class LineProblem(Exception):
    """Why one line cannot be parsed; `cut_off` when it stops where a record was going on."""

    def __init__(self, reason: str, cut_off: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cut_off = cut_off


def parse_line(line: str, has_nul: bool, data: bytes) -> Any:
    """The JSON value of one line (`data`: the line as UTF-8); LineProblem when it has none
    the contract could take."""
    if len(line) * 4 > MAX_LINE_BYTES and len(line.encode("utf-8")) > MAX_LINE_BYTES:
        raise LineProblem(f"line of {len(line.encode('utf-8'))} bytes, longer than the "
                           f"{MAX_LINE_BYTES}-byte limit")
    if has_nul and "\x00" in line:
        raise LineProblem(f"a raw NUL byte at character {line.index(chr(0)) + 1}")
    record = fast_parse(data)
    if record is not None:
        return record
    try:
        return _DECODE(line)
    except json.JSONDecodeError as exc:
        raise LineProblem(f"not valid JSON: {exc}", _ran_out(line, exc)) from None
    except RecursionError:
        raise LineProblem(NESTED) from None
    except ValueError as exc:  # int() refuses numbers of more than 4300 digits
        raise LineProblem(f"not valid JSON: a number too long to read ({exc})") from None


def fast_parse(data: bytes) -> dict[str, Any] | None:
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
    """An object's fields as a dict; LineProblem when a name occurs twice (which wins?)."""
    fields = dict(pairs)
    if len(fields) != len(pairs):
        seen: set[str] = set()
        for name, _value in pairs:
            if name in seen:
                raise LineProblem(f"duplicate field {show_value(name)} in an object")
            seen.add(name)
    return fields


def too_deep(line: str) -> bool:
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
    if not line.lstrip(JSON_SPACE).startswith("{") or exc.msg == "Extra data":
        return False
    if exc.msg.startswith("Unterminated string"):
        return True
    rest = line[exc.pos:].rstrip(JSON_SPACE)
    if exc.msg.startswith("Invalid \\uXXXX escape"):
        return len(rest) <= 5 and all(char in "0123456789abcdefABCDEF" for char in rest[1:])
    return _PARTIAL_TOKEN.fullmatch(rest) is not None


_DECODE = json.JSONDecoder(object_pairs_hook=_unique_fields).decode
_ORJSON_LOADS = orjson.loads
