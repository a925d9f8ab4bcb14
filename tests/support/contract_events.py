"""Hypothesis strategies for log events the line check accepts, boundaries included, and
for events just beyond a limit; a fixed-seed draw of both for the engine tests.

`accepted_event()` draws every field the contract knows from the whole of what it accepts
(ingest.raw.limits): ids from 0 to the int maximum (userId as "", digits or a JSON number),
`ts` and `registration` from the first to the last millisecond every target's timestamps
hold, lengths from 0 to the largest, any Unicode text without NUL or lone surrogates
(now and then one value of 65,535 bytes of UTF-8, the text limit), nulls where allowed,
and a field outside the contract. `beyond_limit_event()` is an accepted event with one
value pushed just past a limit (or to a value no engine's type holds).

`generated_events(n)` draws n accepted events with a fixed seed (derandomized, no example
database) after a few fixed events at the ends of every range, keeps one event per
(userId, sessionId, itemInSession) key and UTC day (giving a new sessionId where a key was
taken that day: small ids come up often), adds copies of some with the same key and a `ts`
a day later (or earlier, at the end of the range) — a client resending an event with a
changed `ts`, two clients reusing a session id — then exact redeliveries and same-day
redeliveries with a later `ts`. An event is its key on its UTC day (`event_id` hashes
both): the copies on another day are events of their own, the redeliveries are removed.
Two different events of one key on one day stay out: which one the models keep depends on
each engine's text order (ties on `ts`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ingest.raw import limits

MS_PER_DAY = 86_400_000
# most events fall on a few ordinary days (so a build writes few partitions); the rest
# anywhere in the range, its ends included
BUSY_DAYS = (dt.date(2018, 11, 1), dt.date(2018, 11, 2), dt.date(2020, 2, 29))
EDGE_TS = (limits.EPOCH_MS_MIN, limits.EPOCH_MS_MIN + 1, -1, 0,
           limits.EPOCH_MS_MAX - 1, limits.EPOCH_MS_MAX)
# values of exactly MAX_TEXT_BYTES of UTF-8: 1-, 2-, 3- and 4-byte characters
LARGEST_TEXTS = ("x" * limits.MAX_TEXT_BYTES,
                 "\u00e9" * (limits.MAX_TEXT_BYTES // 2) + "a",
                 "\u65e5" * (limits.MAX_TEXT_BYTES // 3),
                 "\U0001f3b5" * (limits.MAX_TEXT_BYTES // 4) + "abc")
TEXT_FIELDS = ("artist", "auth", "firstName", "lastName", "location", "method", "page",
               "song", "userAgent")
PAGES = ("NextSong", "Home", "Login", "Logout", "Settings", "Submit Downgrade", "Error")


def _day_ms(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * MS_PER_DAY


def _ids() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from((0, 1, limits.INT_MAX - 1, limits.INT_MAX)),
                     st.integers(0, limits.INT_MAX))


def _ts() -> st.SearchStrategy[int]:
    busy = [st.integers(_day_ms(day), _day_ms(day) + MS_PER_DAY - 1) for day in BUSY_DAYS]
    return st.one_of(*busy, st.sampled_from(EDGE_TS),
                     st.integers(limits.EPOCH_MS_MIN, limits.EPOCH_MS_MAX))


def _user_id() -> st.SearchStrategy[str | int]:
    return st.one_of(st.just(""), _ids().map(str), _ids())


def _text() -> st.SearchStrategy[str]:
    """Any text the contract accepts: no NUL, no lone surrogate."""
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _epoch_ms_double() -> st.SearchStrategy[float | int]:
    return st.one_of(
        st.sampled_from([float(value) for value in EDGE_TS]),
        st.floats(limits.EPOCH_MS_MIN, limits.EPOCH_MS_MAX),
        st.integers(limits.EPOCH_MS_MIN, limits.EPOCH_MS_MAX))


def _seconds() -> st.SearchStrategy[float | int]:
    return st.one_of(st.sampled_from((0.0, -0.0, 5e-324, float(limits.MAX_SECONDS))),
                     st.floats(0, limits.MAX_SECONDS), st.integers(0, limits.MAX_SECONDS))


@st.composite
def accepted_event(draw: st.DrawFn) -> dict[str, Any]:
    """One event the line check accepts (a dict, as a line of a log object holds it)."""
    record: dict[str, Any] = {
        "artist": draw(_optional(_text())),
        "auth": draw(st.one_of(st.sampled_from(("Logged In", "Logged Out", "Guest")), _text())),
        "firstName": draw(_optional(_text())),
        "gender": draw(st.sampled_from((None, *limits.GENDERS))),
        "itemInSession": draw(_ids()),
        "lastName": draw(_optional(_text())),
        "length": draw(_optional(_seconds())),
        "level": draw(st.sampled_from(limits.LEVELS)),
        "location": draw(_optional(_text())),
        "method": draw(_optional(st.sampled_from(("PUT", "GET")))),
        "page": draw(st.one_of(st.just("NextSong"), st.sampled_from(PAGES), _text())),
        "registration": draw(_optional(_epoch_ms_double())),
        "sessionId": draw(_ids()),
        "song": draw(_optional(_text())),
        "status": draw(_optional(st.integers(limits.INT_MIN, limits.INT_MAX))),
        "ts": draw(_ts()),
        "userAgent": draw(_optional(_text())),
        "userId": draw(_user_id()),
    }
    if draw(st.integers(0, 9)) == 0:  # now and then one value at the text limit
        record[draw(st.sampled_from(TEXT_FIELDS))] = draw(st.sampled_from(LARGEST_TEXTS))
    if draw(st.integers(0, 9)) == 0:
        record["extraField"] = draw(st.one_of(st.integers(), _text(), st.just([1, {"a": 2}])))
    for name in draw(st.sets(st.sampled_from(("artist", "firstName", "gender", "lastName",
                                                "length", "location", "registration",
                                                "song", "status", "userAgent")))):
        del record[name]  # an optional field may be missing as well as null
    return record


# (field, a value just beyond what the line check accepts)
BEYOND_LIMITS: tuple[tuple[str, Any], ...] = (
    ("userId", "abc"), ("userId", str(limits.INT_MAX + 1)), ("userId", "07"),
    ("userId", "-1"), ("userId", " 5"), ("userId", limits.INT_MAX + 1),
    ("sessionId", -1), ("itemInSession", -1), ("sessionId", limits.INT_MAX + 1),
    ("ts", limits.EPOCH_MS_MAX + 1), ("ts", limits.EPOCH_MS_MIN - 1), ("ts", 9 * 10**18),
    ("registration", 1e300), ("registration", limits.EPOCH_MS_MAX + 1.0),
    ("registration", float(limits.EPOCH_MS_MIN - 1)),
    ("length", -1e-9), ("length", float(limits.MAX_SECONDS) * 1.0000001),
    ("length", 1.7976931348623157e308),
    ("level", "gold"), ("level", ""), ("gender", "f"), ("gender", ""),
    ("song", "x" * (limits.MAX_TEXT_BYTES + 1)),
    ("userAgent", "\u00e9" * (limits.MAX_TEXT_BYTES // 2 + 1)),
)


@st.composite
def beyond_limit_event(draw: st.DrawFn) -> dict[str, Any]:
    """An accepted event with one value just past a limit: the check must refuse it."""
    record = draw(accepted_event())
    name, value = draw(st.sampled_from(BEYOND_LIMITS))
    for text_field in TEXT_FIELDS:  # the over-long value is the only long one
        if isinstance(record.get(text_field), str) and len(record[text_field]) > 1000:
            record[text_field] = "long value shortened"
    record[name] = value
    return record


def draw_examples(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` examples of `strategy`, the same ones every run (derandomized, no example
    database, generation only)."""
    drawn: list[Any] = []

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate],
              deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(example: Any) -> None:
        drawn.append(example)

    collect()
    return drawn


def event_key(record: dict[str, Any]) -> tuple[str | None, int, int]:
    """The key the models give an event: (userId as text, null when "", sessionId, item)."""
    user = str(record["userId"])
    return (user or None, record["sessionId"], record["itemInSession"])


def event_day(record: dict[str, Any]) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=record["ts"] // MS_PER_DAY)


@dataclass(frozen=True)
class GeneratedEvents:
    """Accepted events (redeliveries included) and refused ones, each as one line."""

    accepted: list[dict[str, Any]]
    refused: list[dict[str, Any]]

    def lines(self) -> list[str]:
        """Every event as one JSON line, refused ones among the accepted."""
        lines = [json.dumps(record, ensure_ascii=number % 2 == 0)
                 for number, record in enumerate(self.accepted)]
        for number, record in enumerate(self.refused):
            lines.insert((number * 7) % (len(lines) + 1), json.dumps(record))
        return lines


def boundary_events() -> list[dict[str, Any]]:
    """Plays at each end of every range, whatever hypothesis draws: the first and the last
    millisecond, the largest ids, user 0, lengths 0 and the largest, text at its limit."""
    base = {"auth": "Logged In", "firstName": "Edge", "gender": "F", "lastName": "Case",
            "level": "paid", "location": "Somewhere, ST", "method": "PUT",
            "page": "NextSong", "song": "Edge Song", "artist": "Edge Artist", "status": 200,
            "userAgent": '"Mozilla/5.0"'}
    top, first, last = limits.INT_MAX, limits.EPOCH_MS_MIN, limits.EPOCH_MS_MAX
    return [
        {**base, "ts": first, "userId": str(top), "sessionId": top, "itemInSession": top,
         "registration": float(first), "length": 0.0},
        {**base, "ts": last, "userId": "0", "sessionId": 0, "itemInSession": 0,
         "registration": float(last), "length": float(limits.MAX_SECONDS), "gender": "M"},
        {**base, "ts": first + 1, "userId": top, "sessionId": top, "itemInSession": top - 1,
         "level": "free", "gender": None, "song": LARGEST_TEXTS[3]},
        {**base, "ts": last - 1, "userId": "", "sessionId": top - 1, "itemInSession": 0,
         "auth": "Logged Out", "page": "Home", "userAgent": LARGEST_TEXTS[1]},
        {**base, "ts": 0, "userId": "1", "sessionId": 1, "itemInSession": 0,
         "location": LARGEST_TEXTS[2], "registration": -1.0},
    ]


def event_identity(record: dict[str, Any]) -> tuple[tuple[str | None, int, int], dt.date]:
    """What identifies an event in the models: its key on the UTC day of its `ts`."""
    return event_key(record), event_day(record)


def _another_day(record: dict[str, Any]) -> dict[str, Any]:
    """A copy with the same key and a `ts` one day later (one day earlier at the end of the
    range)."""
    later = record["ts"] + MS_PER_DAY
    return {**record, "ts": later if later <= limits.EPOCH_MS_MAX else record["ts"] - MS_PER_DAY}


def generated_events(count: int, refused: int = 0,
                     prepare: Callable[[list[dict[str, Any]]], None] | None = None
                     ) -> GeneratedEvents:
    """The boundary events and `count` examples of accepted events (fixed seed), one per key
    and day (an event whose key was taken that day gets a new sessionId), copies of some
    with the same key on another day, all `prepare`d (changed in place), then redeliveries
    of some; and `refused` events beyond a limit."""
    events: list[dict[str, Any]] = []
    identities: set[tuple[tuple[str | None, int, int], dt.date]] = set()
    for number, record in enumerate([*boundary_events(),
                                     *draw_examples(accepted_event(), count)]):
        if event_identity(record) in identities:  # see the module's docstring
            record["sessionId"] = 1_000_000_000 + number
        identities.add(event_identity(record))
        events.append(record)
    for record in events[::6]:  # the same key on another day: another event
        copy = _another_day(record)
        if event_identity(copy) not in identities:
            identities.add(event_identity(copy))
            events.append(copy)
    if prepare is not None:
        prepare(events)
    redelivered = []
    for number, record in enumerate(events[::9]):
        redelivered.append(dict(record))  # the same event delivered twice
        if number % 2 == 0:  # a redelivery of the same key, later the same UTC day
            day_end = _day_ms(event_day(record)) + MS_PER_DAY - 1
            redelivered.append({**record, "ts": min(record["ts"] + 1, day_end)})
    return GeneratedEvents(events + redelivered, draw_examples(beyond_limit_event(), refused))
