"""A corpus of bad raw inputs: every way we know a raw object can break, one object per case.

`python -m tests.bad_inputs OUT_DIR` writes a local raw source to OUT_DIR/raw (song_data and
log_data in the Sparkify layout), the target of its escaping symlink to OUT_DIR/raw-outside,
and each case's expected outcome to OUT_DIR/expected.json. `write_corpus(root)` does the same
from Python (the outside target goes next to `root`) and returns the cases.

Each case is its own object, so its outcome is the object's ledger entry after one stage run:
its status (`loaded`: every non-blank line loaded; `quarantined`: loaded, some lines
quarantined; `pending`: retried later; `rejected`: refused whole), the rows loaded, the lines
quarantined, and a substring of the ledger's reason. Blank lines are neither rows nor
quarantined lines. A pending object also says what it becomes once it has stopped changing
(the run that reaches max_attempts verifies it as final).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ingest.ledger.store import LOADED, PENDING, QUARANTINED, REJECTED
from ingest.raw.lines import MAX_LINE_BYTES
from tests.support.raw_lines import good_event, log_key

FIRST_DAY = dt.date(2018, 11, 1)


@dataclass(frozen=True)
class Case:
    """One raw object of the corpus and what staging it must record."""

    key: str  # as the ledger records it (a name that is not UTF-8: with backslash escapes)
    description: str
    status: str
    rows: int
    quarantined: int
    reason: str = ""  # a substring of the ledger's reason; "" when none is expected
    blank_lines: int = 0
    # a pending object once final: (status, rows, quarantined, reason)
    if_final: tuple[str, int, int, str] | None = None

    @property
    def table(self) -> str:
        return self.key.split("/", 1)[0]

    def final(self) -> Case:
        """What staging must record once the object has stopped changing."""
        if self.if_final is None:
            return self
        status, rows, quarantined, reason = self.if_final
        return replace(self, status=status, rows=rows, quarantined=quarantined, reason=reason,
                       if_final=None)


def write_corpus(root: Path) -> list[Case]:
    """Write every case below `root` (a raw source folder); return the cases."""
    corpus = _Corpus(root)
    _song_cases(corpus)
    _log_cases(corpus)
    _listing_cases(corpus)
    keys = [case.key for case in corpus.cases]
    assert len(keys) == len(set(keys)), "every case is its own object"
    return corpus.cases


# --- one line of raw data, with some fields given as raw JSON text -------------------------

def song_record(number: int) -> dict[str, Any]:
    """A good one-song record, unique by `number`."""
    return {"num_songs": 1, "artist_id": f"ARBAD{number:013d}", "artist_latitude": None,
            "artist_longitude": None, "artist_location": "", "artist_name": "Line Renaud",
            "song_id": f"SOBAD{number:013d}", "title": "Der Kleine Dompfaff",
            "duration": 152.92036, "year": 0}


def with_fields(record: dict[str, Any], **raw: str | None) -> str:
    """`record` as one JSON line spaced like song files, some fields' values given as JSON text
    (None drops a field)."""
    return _render(record, raw, ", ", ": ")


def compact_with_fields(record: dict[str, Any], **raw: str | None) -> str:
    """The same, compact like log files."""
    return _render(record, raw, ",", ":")


def _render(record: dict[str, Any], raw: dict[str, str | None], comma: str, colon: str) -> str:
    fields: dict[str, str | None] = {name: json.dumps(value) for name, value in record.items()}
    fields.update(raw)
    return "{" + comma.join(f"{json.dumps(name)}{colon}{text}"
                            for name, text in fields.items() if text is not None) + "}"


def event(day: dt.date, number: int, **raw: str | None) -> str:
    """A good NextSong event of `day` (unique by `number`), some fields given as JSON text."""
    return compact_with_fields(json.loads(good_event(day, number)), **raw)


def good_events(day: dt.date, count: int, start: int = 0) -> list[str]:
    return [good_event(day, number) for number in range(start, start + count)]


DIGITS_401 = "9" * 401
DIGITS_5000 = "1" * 5000
DEEP_100K = "[" * 100_000 + "]" * 100_000
LARGEST_TEXT = "\u65e5" * (65_535 // 3)  # 65,535 bytes of UTF-8: the text limit; loads
HUGE_TEXT = "x" * (600 * 1024)  # fits a line, not a text value (Redshift's varchar(max))
TOO_LONG = "y" * (1024 * 1024 + 10)  # a line beyond the 1 MiB limit


# --- the corpus -----------------------------------------------------------------------------

Body = bytes | str | list[str]


class _Corpus:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.cases: list[Case] = []
        self.songs = 0
        self.days = 0

    def song_key(self, suffix: str = ".json") -> str:
        self.songs += 1
        number = self.songs
        track = f"TR{chr(65 + number // 26 % 26)}{chr(65 + number % 26)}Q{number:05d}128F0000"
        return f"song_data/{track[2]}/{track[3]}/{track[4]}/{track}{suffix}"

    def next_day(self) -> dt.date:
        day = FIRST_DAY + dt.timedelta(days=self.days)
        self.days += 1
        return day

    def add(self, key: str, body: Body, case: Case) -> None:
        """Write `body` as the object `key`, which `case` describes."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_bytes(body))
        self.cases.append(case)

    def song(self, description: str, body: Body | Callable[[int], Body], status: str,
             rows: int, quarantined: int, reason: str = "", blank_lines: int = 0,
             suffix: str = ".json", if_final: tuple[str, int, int, str] | None = None) -> None:
        """A one-song file (`body` may take the song's number, to make its ids unique)."""
        key = self.song_key(suffix)
        content = body(self.songs) if callable(body) else body
        self.add(key, content, Case(key, description, status, rows, quarantined, reason,
                                    blank_lines, if_final))

    def log(self, description: str, body: Callable[[dt.date], Body], status: str,
            rows: int, quarantined: int, reason: str = "", blank_lines: int = 0,
            key: Callable[[dt.date], str] = log_key,
            if_final: tuple[str, int, int, str] | None = None) -> None:
        """A daily log file of a day of its own (`body` makes its lines for that day)."""
        day = self.next_day()
        name = key(day)
        self.add(name, body(day), Case(name, description, status, rows, quarantined, reason,
                                       blank_lines, if_final))


def _bytes(body: Body) -> bytes:
    if isinstance(body, list):
        body = "\n".join(body)  # the contract: no newline after the last line
    return body.encode("utf-8") if isinstance(body, str) else body


def _song(**raw: str | None) -> Callable[[int], str]:
    """A one-song file whose record has some fields given as JSON text."""
    return lambda number: with_fields(song_record(number), **raw)


def _bad_song(description: str, reason: str, **raw: str | None) -> tuple[str, Any, str]:
    return description, _song(**raw), reason


def _song_cases(corpus: _Corpus) -> None:
    good = _song()
    corpus.song("a good song file (control)", good, LOADED, 1, 0)
    corpus.song("a good song file ending in a newline", lambda n: good(n) + "\n", LOADED, 1, 0)
    corpus.song("a byte order mark before the record", lambda n: "\ufeff" + good(n),
                LOADED, 1, 0)
    corpus.song("CRLF line ending", lambda n: good(n) + "\r\n", LOADED, 1, 0)
    corpus.song("\\/ escapes in a string", _song(artist_name='"AC\\/DC \\/ Friends"'),
                LOADED, 1, 0)
    corpus.song("an astral character as a surrogate-pair escape",
                _song(title='"Tune \\ud83c\\udfb5"'), LOADED, 1, 0)
    corpus.song("non-ASCII UTF-8 text", _song(artist_name='"Åsa Ñandú 日本"'), LOADED, 1, 0)
    corpus.song("a field outside the contract (dropped)", _song(extra='{"x": [1, 2]}'),
                LOADED, 1, 0)
    corpus.song("a string of 65,535 bytes of UTF-8 (the text limit)",
                _song(title=json.dumps(LARGEST_TEXT, ensure_ascii=False)), LOADED, 1, 0)
    corpus.song("two good records in one song file",
                lambda n: good(n) + "\n" + with_fields(song_record(n + 10_000)), LOADED, 2, 0)
    corpus.song("an empty file", b"", LOADED, 0, 0)
    corpus.song("blank lines only", "\n\n   \n\t\n", LOADED, 0, 0, blank_lines=4)
    corpus.song("an upper-case .JSON name", good, LOADED, 1, 0, suffix=".JSON")
    corpus.song("an integer where a string is expected (kept as its digits)",
                _song(artist_location="12345"), LOADED, 1, 0)
    bad_lines = [
        _bad_song("a required field missing", "required field 'song_id'", song_id=None),
        _bad_song("a required field null", "required field 'title'", title="null"),
        _bad_song("a string for an int", "expected an integer", year='"1999"'),
        _bad_song("a bool for an int", "expected an integer", year="true"),
        _bad_song("a float for an int (1.0)", "expected an integer", year="1999.0"),
        _bad_song("an int beyond 32 bits", "outside the int range", year="3000000000"),
        _bad_song("a 401-digit int", "outside the int range", num_songs=DIGITS_401),
        _bad_song("a number of more than 4300 digits", "too long", year=DIGITS_5000),
        _bad_song("NaN for a double", "not a finite number", duration="NaN"),
        _bad_song("Infinity for a double", "not a finite number", duration="Infinity"),
        _bad_song("-Infinity for a double", "not a finite number",
                  artist_latitude="-Infinity"),
        _bad_song("1e400 (overflows to infinity)", "not a finite number",
                  duration="1e400"),
        _bad_song("a 401-digit int for a double", "not a finite number",
                  artist_longitude=DIGITS_401),
        _bad_song("a string for a double", "expected a number", duration='"218.9"'),
        _bad_song("\\u0000 in a string", "NUL character", artist_name='"Nul\\u0000Band"'),
        _bad_song("a lone high surrogate", "lone surrogate", title='"Half \\ud800"'),
        _bad_song("an unpaired low surrogate", "lone surrogate", title='"\\udc00 half"'),
        _bad_song("an object for a string", "expected a string", title='{"a": 1}'),
        _bad_song("an array for a string", "expected a string", artist_id='["AR1"]'),
        _bad_song("a bool for a string", "expected a string", artist_name="false"),
        _bad_song("a field nested 100 deep", "nested too deeply",
                  extra="[" * 100 + "]" * 100),
        _bad_song("a 600 KiB string (under the line limit, over the text limit)",
                  "over the 65535-byte limit of a text value", title=json.dumps(HUGE_TEXT)),
        _bad_song("a negative duration", "outside the range 0..", duration="-1.5"),
    ]
    for description, body, reason in bad_lines:
        corpus.song(description, body, QUARANTINED, 0, 1, reason)
    corpus.song("a raw NUL byte in the line",
                lambda n: good(n).replace("Line Renaud", "Line\x00Renaud"),
                QUARANTINED, 0, 1, "raw NUL byte")
    corpus.song("a duplicate field name", lambda n: good(n).replace('"year": 0',
                                                                    '"year": 0, "year": 1999'),
                QUARANTINED, 0, 1, "duplicate field")
    corpus.song("a JSON array line", lambda n: json.dumps([song_record(n)]),
                QUARANTINED, 0, 1, "expected an object")
    corpus.song("a JSON string line", '"just a string"', QUARANTINED, 0, 1,
                "expected an object")
    corpus.song("not JSON at all (complete, so never pending)", "garbage", QUARANTINED, 0, 1,
                "not valid JSON")
    corpus.song("extra data after a complete object", lambda n: good(n) + "}x",
                QUARANTINED, 0, 1, "Extra data")
    corpus.song("a line longer than 1 MiB", _song(title=json.dumps(TOO_LONG)),
                QUARANTINED, 0, 1, "longer than")
    corpus.song("an array nested 100,000 deep", DEEP_100K, QUARANTINED, 0, 1,
                "nested too deeply")
    corpus.song("only a cut-off record", lambda n: good(n)[:70], PENDING, 0, 0,
                "ends mid-record", if_final=(QUARANTINED, 0, 1, "stopped changing"))
    corpus.song("cut off in the middle of a UTF-8 character",
                lambda n: (good(n)[:60] + "\u00e9").encode()[:-1],
                PENDING, 0, 0, "mid-character", if_final=(REJECTED, 0, 0, "not UTF-8"))
    corpus.song("gzip-compressed", lambda n: gzip.compress(good(n).encode()), REJECTED, 0, 0,
                "gzip")
    corpus.song("Latin-1, not UTF-8", lambda n: good(n).replace("Line", "Lín").encode("latin-1"),
                REJECTED, 0, 0, "not UTF-8")
    corpus.song("UTF-16 with a byte order mark", lambda n: good(n).encode("utf-16"),
                REJECTED, 0, 0, "UTF-8")


def _log_cases(corpus: _Corpus) -> None:
    def around(bad: Callable[[dt.date], str]) -> Callable[[dt.date], list[str]]:
        """Two good events, the bad line, two more good events."""
        return lambda day: [*good_events(day, 2), bad(day), *good_events(day, 2, start=2)]

    corpus.log("a good day (control)", lambda day: good_events(day, 5), LOADED, 5, 0)
    corpus.log("blank lines between events and a final newline",
               lambda day: [*good_events(day, 2), "", *good_events(day, 2, start=2), ""],
               LOADED, 4, 0, blank_lines=1)
    corpus.log("CRLF line endings", lambda day: "\r\n".join(good_events(day, 3)) + "\r\n",
               LOADED, 3, 0)
    corpus.log("trailing whitespace-only lines",
               lambda day: [*good_events(day, 3), "   ", "\t", " \r"], LOADED, 3, 0,
               blank_lines=3)
    corpus.log("a byte order mark before the first event",
               lambda day: "\ufeff" + "\n".join(good_events(day, 3)), LOADED, 3, 0)
    corpus.log("blank lines only", lambda day: "\n \n\n", LOADED, 0, 0, blank_lines=3)
    corpus.log("userId as a JSON number (kept as its digits)",
               lambda day: [event(day, 0, userId="77"), *good_events(day, 2, start=1)],
               LOADED, 3, 0)
    corpus.log("\\/ escapes and an astral escape in strings",
               lambda day: [event(day, 0, userAgent='"Mozilla\\/5.0 \\ud83c\\udfb5"'),
                            *good_events(day, 2, start=1)], LOADED, 3, 0)
    corpus.log("an upper-case .JSON name", lambda day: good_events(day, 3), LOADED, 3, 0,
               key=lambda day: log_key(day).replace(".json", ".JSON"))
    bad_lines: list[tuple[str, Callable[[dt.date], str], str]] = [
        ("itemInSession 99999999999", lambda day: event(day, 90, itemInSession="99999999999"),
         "outside the int range"),
        ("ts beyond bigint", lambda day: event(day, 90, ts=str(2**63)),
         "outside the bigint range"),
        ("ts on another day", lambda day: event(day, 90, ts="0"), "outside the file's date"),
        ("a string for sessionId", lambda day: event(day, 90, sessionId='"abc"'),
         "expected an integer"),
        ("a bool for status", lambda day: event(day, 90, status="true"), "expected an integer"),
        ("NaN for length", lambda day: event(day, 90, length="NaN"), "not a finite number"),
        ("1e400 for registration", lambda day: event(day, 90, registration="1e400"),
         "not a finite number"),
        ("a 5000-digit sessionId", lambda day: event(day, 90, sessionId=DIGITS_5000),
         "too long"),
        ("\\u0000 in page", lambda day: event(day, 90, page='"Next\\u0000Song"'),
         "NUL character"),
        ("a lone surrogate in artist", lambda day: event(day, 90, artist='"\\udbff!"'),
         "lone surrogate"),
        ("a raw NUL byte", lambda day: event(day, 90).replace("Pavement", "Pave\x00ment"),
         "raw NUL byte"),
        ("a required field missing", lambda day: event(day, 90, ts=None),
         "required field 'ts'"),
        ("a duplicate ts", lambda day: event(day, 90).replace('"ts":', '"ts":1,"ts":', 1),
         "duplicate field"),
        ("not JSON", lambda day: '{"page": "NextSong", "ts": 1,,}', "not valid JSON"),
        ("a JSON array line", lambda day: "[1, 2]", "expected an object"),
        ("a JSON null line", lambda day: "null", "expected an object"),
        ("a nested object for a string", lambda day: event(day, 90, song='{"a": {"b": 1}}'),
         "expected a string"),
        ("a line nested 100,000 deep", lambda day: DEEP_100K, "nested too deeply"),
        ("a line longer than 1 MiB", lambda day: event(day, 90, song=json.dumps(TOO_LONG)),
         "longer than"),
        ("userId not digits (no build can cast it)",
         lambda day: event(day, 90, userId='"abc"'), "a user id is"),
        ("userId beyond the int range", lambda day: event(day, 90, userId='"99999999999"'),
         "a user id is"),
        ("registration 1e300 (no timestamp holds it)",
         lambda day: event(day, 90, registration="1e300"), "outside the epoch milliseconds"),
        ("a level the models do not accept", lambda day: event(day, 90, level='"gold"'),
         'expected one of "free", "paid"'),
    ]
    for description, bad, reason in bad_lines:
        corpus.log(f"{description}, between good events", around(bad), QUARANTINED, 4, 1,
                   reason)
    corpus.log("garbage as the last line (complete: quarantined, never pending)",
               lambda day: [*good_events(day, 3), "garbage"], QUARANTINED, 3, 1,
               "not valid JSON")
    corpus.log("a last line cut off mid-record",
               lambda day: [*good_events(day, 3), good_event(day, 3)[:-25]], PENDING, 0, 0,
               "ends mid-record", if_final=(QUARANTINED, 3, 1, "stopped changing"))
    corpus.log("every line outside the file's date",
               lambda day: [event(day, number, ts="0") for number in range(3)],
               QUARANTINED, 0, 3, "outside the file's date")
    corpus.log("gzip-compressed", lambda day: gzip.compress(_bytes(good_events(day, 3))),
               REJECTED, 0, 0, "gzip")
    corpus.log("an invalid UTF-8 byte in the middle",
               lambda day: _bytes(good_events(day, 1)) + b"\n\xc3\x28\n"
               + _bytes(good_events(day, 1, start=1)), REJECTED, 0, 0, "not UTF-8 at byte")
    corpus.log("a name whose date is not a calendar date", lambda day: good_events(day, 2),
               REJECTED, 0, 0, "not a calendar date",
               key=lambda day: f"log_data/{day:%Y}/02/{day:%Y}-02-30-events.json")


def _listing_cases(corpus: _Corpus) -> None:
    """Objects the listing itself must refuse (or follow): links and odd names."""
    root = corpus.root
    target = corpus.cases[0].key  # the control song file
    links = [
        ("song_data/A/L/O/loop.json", "loop.json", "a symlink to itself (a loop)", "symlink"),
        ("song_data/D/A/N/dangling.json", "missing.json", "a dangling symlink", "symlink"),
        ("song_data/O/U/T/outside.json", str(_outside_file(root)),
         "a symlink pointing outside the source folder", "outside"),
    ]
    for key, link_target, description, reason in links:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(link_target)
        corpus.cases.append(Case(key, description, REJECTED, 0, 0, reason))
    inside = root / "song_data/I/N/S/inside.json"
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.symlink_to(os.path.relpath(root / target, inside.parent))
    corpus.cases.append(Case("song_data/I/N/S/inside.json",
                             "a symlink to a song file inside the source (followed)",
                             LOADED, 1, 0))
    folder = root / "song_data/N/U/T"
    folder.mkdir(parents=True, exist_ok=True)
    with open(os.fsencode(folder) + b"/TRNOTUTF8\xff.json", "wb") as out:
        out.write(with_fields(song_record(99_999)).encode())
    corpus.cases.append(Case("song_data/N/U/T/TRNOTUTF8\\xff.json",
                             "a file name that is not valid UTF-8", REJECTED, 0, 0, "UTF-8"))


def _outside_file(root: Path) -> Path:
    """A good song file next to the source folder, not in it."""
    outside = root.parent / f"{root.name}-outside" / "TROUTSIDE.json"
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.write_text(with_fields(song_record(88_888)), encoding="utf-8")
    return outside


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.bad_inputs OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0]).resolve()
    cases = write_corpus(out / "raw")
    (out / "expected.json").write_text(
        json.dumps([asdict(case) for case in cases], indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8")
    print(f"wrote {len(cases)} cases: the raw source is {out / 'raw'}, "
          f"the expectations {out / 'expected.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# one day, its log object and one song object, for the rule-by-rule tests of tests/raw/
DAY = dt.date(2018, 11, 3)
LOG = log_key(DAY)
SONG = "song_data/A/B/C/TRABCEI128F424C983.json"

# (name, line, the reason it is quarantined with): every class of bad log line
BAD_LOG_LINES = [
    ("not JSON", '{"page": "NextSong", "ts": 1,,}', "not valid JSON"),
    ("a JSON array", "[1, 2]", "a JSON list, expected an object"),
    ("a JSON null", "null", "expected an object"),
    ("a required field missing", event(DAY, 5, ts=None), "required field 'ts' is missing"),
    ("a required field null", event(DAY, 5, page="null"), "required field 'page'"),
    ("a string for an int", event(DAY, 5, sessionId='"abc"'),
     "field 'sessionId' is \"abc\", expected an integer"),
    ("a bool for an int", event(DAY, 5, status="true"), "is true, expected an integer"),
    ("a float for an int", event(DAY, 5, status="200.0"), "is 200.0, expected an integer"),
    ("an int beyond 32 bits", event(DAY, 5, itemInSession="99999999999"),
     "outside the int range -2147483648..2147483647"),
    ("a bigint beyond 64 bits", event(DAY, 5, ts=str(2**63)),
     "outside the bigint range -9223372036854775808..9223372036854775807"),
    ("a 401-digit int", event(DAY, 5, sessionId=DIGITS_401),
     "is a 401-digit integer, outside the int range"),
    ("more than 4300 digits", event(DAY, 5, sessionId=DIGITS_5000), "a number too long"),
    ("NaN for a double", event(DAY, 5, length="NaN"), "'length' is NaN: not a finite number"),
    ("Infinity for a double", event(DAY, 5, length="Infinity"), "not a finite number"),
    ("-Infinity for a double", event(DAY, 5, registration="-Infinity"),
     "not a finite number"),
    ("1e400 for a double", event(DAY, 5, length="1e400"),
     "'length' is Infinity: not a finite number"),
    ("a 401-digit int for a double", event(DAY, 5, registration=DIGITS_401),
     "too large for a double: not a finite number"),
    ("a string for a double", event(DAY, 5, length='"99.1"'), "expected a number"),
    ("a bool for a string", event(DAY, 5, level="true"), "expected a string"),
    ("an object for a string", event(DAY, 5, song='{"a": 1}'), "expected a string"),
    ("\\u0000 in a string", event(DAY, 5, artist='"a\\u0000b"'),
     "field 'artist' holds a NUL character"),
    ("a lone high surrogate", event(DAY, 5, artist='"a\\ud800b"'),
     "field 'artist' holds a lone surrogate"),
    ("an unpaired low surrogate", event(DAY, 5, song='"\\udc00"'), "lone surrogate"),
    ("a raw NUL byte", event(DAY, 5).replace("Pavement", "Pave\x00ment"),
     "a raw NUL byte at character"),
    ("a duplicate field", event(DAY, 5).replace('"ts":', '"ts":1,"ts":', 1),
     'duplicate field "ts"'),
    ("a duplicate field with spaces", '{"page" : "Home", "page" : "Home"}',
     'duplicate field "page"'),
    ("ts on the day before", event(DAY, 5, ts="1541203199999"),
     "falls on 2018-11-02, outside the file's date 2018-11-03"),
    ("ts on the day after", event(DAY, 5, ts="1541289600000"), "outside the file's date"),
    ("ts beyond the year 9999", event(DAY, 5, ts="253402300800000"),
     "falls on no calendar date, outside the file's date"),
    ("the largest ts", event(DAY, 5, ts=str(2**63 - 1)), "falls on no calendar date"),
    ("userId not digits", event(DAY, 5, userId='"abc"'),
     "field 'userId' is \"abc\": a user id is \"\" or the digits of an integer 0..2147483647"),
    ("userId beyond the int range", event(DAY, 5, userId='"99999999999"'), "a user id is"),
    ("userId with a leading zero", event(DAY, 5, userId='"077"'), "no sign, space or leading"),
    ("userId with a sign", event(DAY, 5, userId='"-5"'), "a user id is"),
    ("userId with spaces", event(DAY, 5, userId='" 5"'), "a user id is"),
    ("userId in non-ASCII digits", event(DAY, 5, userId='"\u0665"'), "a user id is"),
    ("userId a negative JSON number", event(DAY, 5, userId="-5"), "a user id is"),
    ("a negative sessionId", event(DAY, 5, sessionId="-1"), "an id is not negative"),
    ("a negative itemInSession", event(DAY, 5, itemInSession="-2147483648"),
     "an id is not negative"),
    ("registration 1e300", event(DAY, 5, registration="1e300"),
     "field 'registration' is 1e+300, outside the epoch milliseconds"),
    ("registration before the year 1", event(DAY, 5, registration="-62135596800001.0"),
     "outside the epoch milliseconds -62135596800000..253402300799999"),
    ("a negative length", event(DAY, 5, length="-0.5"), "outside the range 0..1000000000"),
    ("a length of 1e300", event(DAY, 5, length="1e300"), "seconds"),
    ("a level outside free and paid", event(DAY, 5, level='"Free"'),
     'field \'level\' is "Free", expected one of "free", "paid"'),
    ("a level given as a number", event(DAY, 5, level="1"), "expected one of"),
    ("a gender outside F and M", event(DAY, 5, gender='""'), 'expected one of "F", "M"'),
    ("a text value over 65,535 bytes", event(DAY, 5, song=json.dumps("\u00e9" * 32768)),
     "field 'song' is 65536 bytes of UTF-8, over the 65535-byte limit"),
    ("an array nested 100,000 deep", DEEP_100K, "nested too deeply"),
    ("a value nested 100 deep", event(DAY, 5, song="[" * 100 + "]" * 100),
     "nested too deeply"),
    ("an extra field nested 100 deep", event(DAY, 5, extra="{\"a\":" * 100 + "1" + "}" * 100),
     "nested too deeply"),
    ("a line longer than 1 MiB", event(DAY, 5, song=json.dumps("x" * MAX_LINE_BYTES)),
     f"longer than the {MAX_LINE_BYTES}-byte limit"),
]
