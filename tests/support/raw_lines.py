"""Daily log files with known good, bad and blank lines, for the verification tests."""

from __future__ import annotations

import datetime as dt
import json

DAY_MS = 86_400_000
BLANK_LINE_AT = 500


def log_key(day: dt.date) -> str:
    return f"log_data/{day:%Y}/{day:%m}/{day.isoformat()}-events.json"


def day_start_ms(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * DAY_MS


def good_event(day: dt.date, number: int) -> str:
    """A NextSong event of user 77 on `day`, unique by its item_in_session."""
    return json.dumps({
        "artist": "Pavement", "auth": "Logged In", "firstName": "Ada", "gender": "F",
        "itemInSession": number, "lastName": "O'Neil", "length": 99.16036, "level": "paid",
        "location": "Tampa-St. Petersburg-Clearwater, FL", "method": "PUT",
        "page": "NextSong", "registration": 1540266185796.0, "sessionId": 9000 + day.day,
        "song": "Mercy:The Laundromat", "status": 200,
        "ts": day_start_ms(day) + 1000 * number, "userAgent": '"Mozilla/5.0"', "userId": "77",
    }, separators=(",", ":"))


def _bad_lines(day: dt.date) -> dict[int, tuple[str, str]]:
    """Line number → (raw text, start of the quarantine reason)."""
    missing_ts = json.loads(good_event(day, 1))
    del missing_ts["ts"]
    wrong_type = json.loads(good_event(day, 2))
    wrong_type["sessionId"] = "abc"
    other_day = json.loads(good_event(day, 3))
    other_day["ts"] = day_start_ms(day) - 1
    return {
        3: ('{"page": "NextSong", "ts": 1,,}', "not valid JSON"),
        100: ("[1, 2]", "a JSON list, expected an object"),
        250: (json.dumps(missing_ts), "required field 'ts' is missing"),
        700: (json.dumps(wrong_type), "field 'sessionId' is \"abc\", expected an integer"),
        999: (json.dumps(other_day), "outside the file's date"),
    }


BAD_LINES = (3, 100, 250, 700, 999)
EXPECTED_BAD = [(line, reason) for line, (_text, reason)
                in sorted(_bad_lines(dt.date(2018, 11, 3)).items())]


def log_with_bad_lines(day: dt.date, non_blank: int, bad_at: tuple[int, ...] | list[int]
                       ) -> bytes:
    """`non_blank` lines (the ones at `bad_at` bad), one blank line, no trailing newline."""
    bad = _bad_lines(day)
    lines: list[str] = []
    number = 0
    while sum(1 for line in lines if line) < non_blank:
        position = len(lines) + 1
        if position == BLANK_LINE_AT:
            lines.append("")
        elif position in bad_at:
            lines.append(bad[position][0])
        else:
            lines.append(good_event(day, number))
            number += 1
    return "\n".join(lines).encode("utf-8")
