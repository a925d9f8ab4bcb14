"""Request bodies as events, judged by the stage's own line rules (ingest.raw.verify).

Every log line of the bad-input corpus is posted as an event, and its verdict is compared
with the stage's verdict on the same line inside a stream object (the objects the stream's
consumer stages, whose names hold no date): the same lines are rejected, with the same
reasons, word for word.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ingest.collect.events import JSON_TYPE, BodyProblem, event_texts, judge, media_type
from ingest.raw.verify import Rejected, Unreadable, verify_object
from ingest.stream.batch_objects import batch_object_key
from tests.support.bad_inputs import write_corpus
from tests.support.collector import events

NDJSON = "application/x-ndjson"
GOOD = events(1)[0]


def stage_reasons(lines: list[bytes]) -> list[str | None]:
    """The stage's reason for each line inside a stream object (None: it loads). A good
    line goes last, so that no posted line is the object's last (a cut-off last line is
    worded as such; see docs/collector.md)."""
    key = batch_object_key("collected", "shardId-000000000000", "1", "2")
    verified = verify_object("log_data", key, b"\n".join([*lines, GOOD]), final=True)
    reasons = {bad.line_number: bad.reason for bad in verified.bad}
    return [reasons.get(number) for number in range(1, len(lines) + 1)]


def test_every_bad_line_of_the_corpus_gets_the_stage_reason(tmp_path: Path) -> None:
    write_corpus(tmp_path / "raw")
    compared = rejected = 0
    for path in sorted((tmp_path / "raw" / "log_data").rglob("*.json")):
        body = path.read_bytes()
        try:
            texts = event_texts(body, NDJSON, max_events=10**6)
        except BodyProblem as problem:  # refused whole: the stage refuses the object too
            if problem.reason == "no event in the body":  # the stage finds no line either
                assert verify_object("log_data", path.name, body).non_blank_lines == 0
                continue
            with pytest.raises(Rejected, match=_start(problem.reason)):
                verify_object("log_data", path.name, body, final=True)
            continue
        judged = judge(texts)
        expected = stage_reasons([item.entry.data for item in judged])
        assert [item.reason for item in judged] == expected, path.name
        assert [item.entry.data for item in judged] == [text.encode() for text in texts]
        compared += len(judged)
        rejected += sum(reason is not None for reason in expected)
    assert compared >= 100 and rejected >= 15, (compared, rejected)


def _start(reason: str) -> str:
    import re

    return re.escape(reason[:20])


def test_whole_bodies_refused_as_the_stage_refuses_objects() -> None:
    for body, reason in [(gzip.compress(GOOD), "gzip-compressed"),
                         ("\ufeff".encode("utf-16-le") + GOOD, "not UTF-8"),
                         (GOOD + b"\n\xff\xfe", "not UTF-8 at byte")]:
        with pytest.raises(BodyProblem, match=reason):
            event_texts(body, NDJSON, 500)
        with pytest.raises((Rejected, Unreadable), match=reason):
            verify_object("log_data", "log_data/x.json", body, final=True)


def test_ndjson_and_json_bodies_give_the_same_events() -> None:
    lines = events(3)
    records = [json.loads(line) for line in lines]
    ndjson = b"\r\n".join(lines[:2]) + b"\n\n" + lines[2] + b"\n"
    assert event_texts(ndjson, NDJSON, 500) == [line.decode() for line in lines]
    compact = event_texts(json.dumps(records, separators=(",", ":")).encode(), JSON_TYPE, 500)
    assert compact == [line.decode() for line in lines]
    pretty = event_texts(json.dumps(records, indent=2).encode(), JSON_TYPE, 500)
    assert [item.reason for item in judge(pretty)] == [None, None, None]
    assert [json.loads(text) for text in pretty] == records
    assert event_texts(b' {"a": 1}\n', JSON_TYPE, 500) == ['{"a": 1}']
    duplicate = judge(event_texts(b'[{"ts": 1, "ts": 2}]', JSON_TYPE, 500))
    assert duplicate[0].reason == 'duplicate field "ts" in an object'
    assert judge(event_texts(b"[1, null]", JSON_TYPE, 500))[1].reason == \
        "a JSON null, expected an object"


@pytest.mark.parametrize(("body", "kind", "status", "reason"), [
    (b"[1, 2", JSON_TYPE, 400, "not valid JSON"),
    (b"[1 2]", JSON_TYPE, 400, "expected ',' or ']'"),
    (b"[1] x", JSON_TYPE, 400, "extra data"),
    (b'{"a": 1} {"b": 2}', JSON_TYPE, 400, "extra data"),
    (b"[]", JSON_TYPE, 400, "no event"),
    (b"\n \n", NDJSON, 400, "no event"),
    (b"[" + b",".join([b"{}"] * 6) + b"]", JSON_TYPE, 413, "more than the limit of 5"),
    (b"{}\n" * 6, NDJSON, 413, "more than the limit of 5"),
])
def test_bodies_that_are_not_events(body: bytes, kind: str, status: int, reason: str) -> None:
    with pytest.raises(BodyProblem, match=reason) as problem:
        event_texts(body, kind, 5)
    assert problem.value.status == status


def test_records_are_partitioned_by_user_and_session() -> None:
    judged = judge([GOOD.decode(), "garbage"])
    assert judged[0].entry.partition_key == "77/9002"
    assert judged[1].entry.partition_key == "unparsed"
    assert media_type("Application/JSON; charset=utf-8") == JSON_TYPE
