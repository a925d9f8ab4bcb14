"""`python -m ingest status` prints text from the data (object keys, reasons, raw lines) as
visible escapes when it holds control characters: a quarantined line must not drive the
terminal (colours, title, cursor, bidi reordering) or fake lines of the report."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest.ledger.store import LedgerEntry
from ingest.report.status import format_ledger

NOW = dt.datetime(2018, 11, 30, tzinfo=dt.UTC)
HOSTILE_KEY = "log_data/2018/11/\x1b]0;pwned\x07events\r.json"
RAW_LINE = '{"song": "\x1b[31mred\x1b[0m\x07", "artist": "Beyoncé 日本", "x": "a\\"b"}'


def _entry(key: str, status: str, reason: str | None = None) -> LedgerEntry:
    return LedgerEntry("log_data", key, "s3://raw/\x1b[8mhidden", "f" * 32, 10, status, NOW,
                       attempts=1, reason=reason)


def _report(key: str = HOSTILE_KEY, raw_line: str = RAW_LINE, reason: str = "bad json") -> str:
    entries = [_entry(key, "quarantined", "1 line quarantined"),
               _entry("log_data/ok.json", "failed", f"unreadable: {reason}")]
    quarantined = [("log_data", key, 3, reason, raw_line)]
    return format_ledger("spark, source s3://raw/\x1b[8mhidden", entries, quarantined)


def test_control_characters_are_escaped() -> None:
    report = _report()
    for char in ("\x1b", "\x07", "\r"):
        assert char not in report
    assert "\\x1b[31mred\\x1b[0m\\x07" in report
    assert "log_data/2018/11/\\x1b]0;pwned\\x07events\\x0d.json:3: bad json" in report
    assert "s3://raw/\\x1b[8mhidden" in report


@pytest.mark.parametrize(("char", "shown"), [
    ("\x00", "\\x00"), ("\t", "\\x09"), ("\n", "\\x0a"), ("\x7f", "\\x7f"), ("\x85", "\\x85"),
    ("\x9b", "\\x9b"), ("\u202a", "\\u202a"), ("\u202e", "\\u202e"), ("\u2066", "\\u2066"),
    ("\u2069", "\\u2069"), ("\u200f", "\\u200f"), ("\u2028", "\\u2028"),
])
def test_each_kind_of_control_character(char: str, shown: str) -> None:
    report = _report(key=f"k{char}ey", raw_line=f"li{char}ne", reason=f"rea{char}son")
    if char != "\n":  # the report's own line breaks are newlines: the count below checks it
        assert char not in report
    for text in ("k{}ey", "li{}ne", "rea{}son"):
        assert text.format(shown) in report
    # a newline in the data cannot add a line to the report
    assert len(report.splitlines()) == len(_report(key="key", raw_line="line").splitlines())


def test_ordinary_text_is_unchanged() -> None:
    report = _report(key="log_data/café/日本.json", reason="pas de «song»")
    assert "log_data/café/日本.json:3: pas de «song»" in report
    assert '"artist": "Beyoncé 日本", "x": "a\\"b"' in report  # backslashes stay as they are
