"""A request body as events, each judged by the stage's line rules (ingest.raw.verify).

Two body formats:

- NDJSON (`application/x-ndjson`, `application/jsonl`, `text/plain`): one event a line,
  exactly as a line of a daily log file; blank lines are not events;
- JSON (`application/json`): one event (an object), or an array of events. Each element's
  own text is the event, its line breaks (whitespace between tokens) made spaces, so a
  pretty-printed event reads as the same one-line record.

Each event is then checked by `check_line`, the rule the stage applies to every line of a
log object (without the file-date rule: as for the stream's objects, whose names hold no
date); the reasons are the stage's, word for word. An event's bytes go onto the stream as
they are, accepted or not: the consumer's stage quarantines a rejected one with the same
reason (docs/collector.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ingest.kinesis.records import Entry, event_entry
from ingest.raw.lines import JSON_SPACE, LineProblem
from ingest.raw.verify import Rejected, body_text, check_line

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/ndjson",
                          "text/plain"})
JSON_TYPE = "application/json"
_DECODER = json.JSONDecoder()


class BodyProblem(Exception):
    """The body as a whole cannot be read as events (400, or 413 for too many)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class Judged:
    """One event: the record it goes on the stream as, and why it is rejected (None: it is
    accepted). A record over the stream's limit is rejected and never put (`on_stream`)."""

    entry: Entry
    reason: str | None

    @property
    def on_stream(self) -> bool:
        return self.entry.too_large is None


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, lower case, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def event_texts(body: bytes, kind: str, max_events: int) -> list[str]:
    """The events of a body of media type `kind` (NDJSON or JSON), as one line of text each."""
    try:
        text = body_text(body, final=True)  # the stage's rules for a whole object
    except Rejected as exc:
        raise BodyProblem(str(exc)) from None
    if kind == JSON_TYPE:
        events = _json_events(text, max_events)
    else:
        events = [line.removesuffix("\r") for line in text.split("\n")
                  if line.strip(JSON_SPACE)]
    if len(events) > max_events:
        raise BodyProblem(f"{len(events)} events in one request, more than the limit of "
                          f"{max_events}: send them in smaller batches", 413)
    if not events:
        raise BodyProblem("no event in the body")
    return events


def _json_events(text: str, max_events: int) -> list[str]:
    """The raw text of a JSON body's object, or of each element of its array."""
    start = _skip_space(text, 0)
    if not text.startswith("[", start):
        end = _value_end(text, start)
        if _skip_space(text, end) != len(text):
            raise BodyProblem(f"not valid JSON: extra data at character {end + 1}")
        return [_one_line(text[start:end])]
    events: list[str] = []
    position = _skip_space(text, start + 1)
    if text.startswith("]", position):
        return events
    while True:
        end = _value_end(text, position)
        events.append(_one_line(text[position:end]))
        if len(events) > max_events:
            return events  # the caller refuses the body: no need to read more of it
        position = _skip_space(text, end)
        if text.startswith("]", position):
            break
        if not text.startswith(",", position):
            raise BodyProblem(f"not valid JSON: expected ',' or ']' at character "
                              f"{position + 1} of the array")
        position = _skip_space(text, position + 1)
    if _skip_space(text, position + 1) != len(text):
        raise BodyProblem(f"not valid JSON: extra data after the array, at character "
                          f"{position + 2}")
    return events


def _value_end(text: str, position: int) -> int:
    try:
        return _DECODER.raw_decode(text, position)[1]
    except json.JSONDecodeError as exc:
        raise BodyProblem(f"not valid JSON: {exc}") from None
    except (RecursionError, ValueError) as exc:
        raise BodyProblem(f"not valid JSON: an element cannot be read ({exc})") from None


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _one_line(element: str) -> str:
    # outside strings a line break is whitespace; inside one JSON has none unescaped
    return element.replace("\r", " ").replace("\n", " ") if "\n" in element or "\r" in element \
        else element


def judge(texts: list[str]) -> list[Judged]:
    """Each event's record for the stream (partitioned by user and session, as `produce`
    does) and the stage's verdict on it."""
    judged = []
    for text in texts:
        data = text.encode("utf-8")
        entry = event_entry(data)
        try:
            check_line("log_data", text, data)
            reason = entry.too_large
        except LineProblem as problem:
            reason = problem.reason
        judged.append(Judged(entry, reason))
    return judged
