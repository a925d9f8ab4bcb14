"""verify_object's rules, line by line and object by object: every line loads or is quarantined
with a reason, an object is pending only while it may still be written, and nothing crashes."""

from __future__ import annotations

import gzip
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from ingest.raw.lines import MAX_LINE_BYTES
from ingest.raw.verify import (
    MAX_RAW_TEXT_BYTES,
    Rejected,
    Unreadable,
    Verified,
    verify_object,
)
from tests.support.bad_inputs import (
    BAD_LOG_LINES,
    DAY,
    DIGITS_401,
    LOG,
    SONG,
    event,
    song_record,
    with_fields,
)
from tests.support.raw_lines import good_event


def _log(*lines: str, final: bool = False) -> Verified:
    return verify_object("log_data", LOG, "\n".join(lines).encode("utf-8"), final=final)


def _song(line: str) -> Verified:
    return verify_object("song_data", SONG, line.encode("utf-8"))


def _only_bad(verified: Verified) -> str:
    """The reason of the one quarantined line of an object with no good record."""
    assert verified.records == []
    assert len(verified.bad) == 1
    return verified.bad[0].reason


def _bad_between_good(bad: str) -> str:
    """Verify good, bad, good: the good lines load and the bad one's reason comes back."""
    verified = _log(good_event(DAY, 0), bad, good_event(DAY, 1))
    assert [number for number, _record in verified.records] == [1, 3]
    assert [line.line_number for line in verified.bad] == [2]
    return verified.bad[0].reason


def test_good_lines_load_with_their_values() -> None:
    verified = _log(good_event(DAY, 0), good_event(DAY, 1))
    assert [number for number, _record in verified.records] == [1, 2]
    assert verified.records[1][1] == json.loads(good_event(DAY, 1))
    song = _song(with_fields(song_record(1)))
    assert song.records == [(1, song_record(1))]




@pytest.mark.parametrize(("line", "reason"), [(line, reason) for _, line, reason in BAD_LOG_LINES],
                         ids=[name for name, _, _ in BAD_LOG_LINES])
def test_a_bad_log_line_is_quarantined_and_the_others_load(line: str, reason: str) -> None:
    assert reason in _bad_between_good(line)


@pytest.mark.parametrize(("raw", "reason"), [
    ({"year": "3000000000"}, "field 'year' is 3000000000, outside the int range"),
    ({"num_songs": DIGITS_401}, "outside the int range"),
    ({"duration": "NaN"}, "not a finite number"),
    ({"artist_latitude": "1e400"}, "not a finite number"),
    ({"duration": DIGITS_401}, "not a finite number"),
    ({"title": '"\\ud800"'}, "lone surrogate"),
    ({"artist_name": '"\\u0000"'}, "NUL character"),
    ({"year": "true"}, "expected an integer"),
    ({"year": "1999.0"}, "expected an integer"),
    ({"song_id": None}, "required field 'song_id'"),
])
def test_song_lines_follow_the_same_rules(raw: dict[str, str | None], reason: str) -> None:
    assert reason in _only_bad(_song(with_fields(song_record(1), **raw)))


@pytest.mark.parametrize("raw", [
    {"artist": '"AC\\/DC"'},
    {"song": '"Tune \\ud83c\\udfb5"'},
    {"userId": "77"},
    {"registration": "1540266185796"},
    {"length": "1000000000"},
    {"length": "0.0"},
    {"itemInSession": "2147483647"},
    {"userId": '"2147483647"'},
    {"userId": '"0"'},
    {"userId": '""'},
    {"gender": "null"},
    {"gender": '"M"', "level": '"free"'},
    {"registration": "-62135596800000.0"},
    {"registration": "253402300799999"},
    {"song": json.dumps("\U0001f3b5" * 16383 + "abc", ensure_ascii=False)},
    {"ts": str(1541203200000)},
    {"extra": '{"a": NaN, "b": "\\ud800", "c": [[[[1]]]]}'},
])
def test_awkward_but_valid_lines_load(raw: dict[str, str]) -> None:
    verified = _log(event(DAY, 0, **raw))
    assert verified.bad == [] and len(verified.records) == 1


def test_escapes_decode_to_their_characters_and_extra_fields_are_dropped() -> None:
    line = event(DAY, 0, artist='"AC\\/DC \\ud83c\\udfb5"', extra='{"x": 1}')
    record = _log(line).records[0][1]
    assert record["artist"] == "AC/DC \U0001f3b5"
    assert "extra" not in record
    assert set(record) == set(json.loads(good_event(DAY, 0)))


def test_blank_lines_crlf_and_a_byte_order_mark() -> None:
    body = "\ufeff" + "\r\n".join([good_event(DAY, 0), "", "  \t", good_event(DAY, 1), ""])
    verified = verify_object("log_data", LOG, body.encode("utf-8"))
    assert (len(verified.records), verified.bad, verified.blank_lines) == (2, [], 2)
    assert verify_object("log_data", LOG, b"") == Verified()
    assert verify_object("log_data", LOG, b"\n\n \n").blank_lines == 3


def test_a_form_feed_is_not_a_blank_line() -> None:
    assert "not valid JSON" in _bad_between_good("\x0c")


# --- the last line ---------------------------------------------------------------------------

def test_a_cut_off_last_line_is_pending_until_the_object_stops_changing() -> None:
    cut = good_event(DAY, 2)[:-30]
    with pytest.raises(Unreadable, match="line 3 ends mid-record"):
        _log(good_event(DAY, 0), good_event(DAY, 1), cut)
    final = _log(good_event(DAY, 0), good_event(DAY, 1), cut, final=True)
    assert len(final.records) == 2
    assert [line.line_number for line in final.bad] == [3]
    assert "cut off mid-record and the object stopped changing" in final.bad[0].reason
    assert final.bad[0].raw_text == cut


@pytest.mark.parametrize("line", [good_event(DAY, 0), with_fields(song_record(1)),
                                  event(DAY, 0, artist='"Caf\\u00e9 \\ud83c\\udfb5 \\"q\\""'),
                                  '{"a" : [1, -2.5e+3, true, false, null, {"b": ""}], "c": 1}'])
def test_every_prefix_of_a_record_looks_cut_off(line: str) -> None:
    for end in range(1, len(line)):
        prefix = line[:end]
        if prefix.strip():
            with pytest.raises(Unreadable):
                verify_object("log_data", LOG, prefix.encode("utf-8"))


@pytest.mark.parametrize(("last", "reason"), [
    ("garbage", "not valid JSON"),
    ("[1, 2", "not valid JSON"),
    ('{"a": 1}}x', "Extra data"),
    ('{"a": 1} nul', "Extra data"),
    ('{"a": 1,, "b": 2', "not valid JSON"),
    ('{"a": xyz', "not valid JSON"),
    ("null", "expected an object"),
])
def test_a_complete_but_bad_last_line_is_quarantined_at_once(last: str, reason: str) -> None:
    verified = _log(good_event(DAY, 0), last)
    assert len(verified.records) == 1
    assert reason in verified.bad[0].reason


# --- the object as a whole -------------------------------------------------------------------

def test_compressed_and_non_utf8_objects_are_rejected() -> None:
    body = "\n".join([good_event(DAY, 0), good_event(DAY, 1)]).encode()
    with pytest.raises(Rejected, match="gzip-compressed"):
        verify_object("log_data", LOG, gzip.compress(body))
    with pytest.raises(Rejected, match=r"not UTF-8 at byte 5 \(invalid start byte\)"):
        verify_object("log_data", LOG, b'{"a":\xff}\n' + body)
    with pytest.raises(Rejected, match="UTF-16"):
        verify_object("log_data", LOG, body.decode().encode("utf-16"))


def test_a_body_cut_in_a_character_is_pending_unless_final() -> None:
    body = (good_event(DAY, 0) + '\n{"artist": "Caf\u00e9').encode()[:-1]
    with pytest.raises(Unreadable, match="mid-character"):
        verify_object("log_data", LOG, body)
    with pytest.raises(Rejected, match="not UTF-8"):
        verify_object("log_data", LOG, body, final=True)
    with pytest.raises(Rejected, match="not UTF-8"):  # an invalid byte before the end
        verify_object("log_data", LOG, b"\xff" + body)


def test_a_log_name_without_a_real_date_is_rejected() -> None:
    with pytest.raises(Rejected, match="2018-02-30 is not a calendar date"):
        verify_object("log_data", "log_data/2018/02/2018-02-30-events.json", b"")
    upper = verify_object("log_data", LOG.replace(".json", ".JSON"),
                          event(DAY, 0, ts="0").encode())
    assert "outside the file's date" in _only_bad(upper)


# --- what a quarantined line keeps -----------------------------------------------------------

def test_quarantined_text_has_no_nul_and_at_most_64_kib() -> None:
    nul = _log(good_event(DAY, 0), "a\x00b").bad[0]
    assert nul.raw_text == "a\\x00b"
    long_line = event(DAY, 5, song=json.dumps("\u00e9" * MAX_LINE_BYTES))
    kept = _log(good_event(DAY, 0), long_line).bad[0].raw_text
    assert kept.startswith(long_line[:1000])
    assert f"the line is {len(long_line.encode())} bytes" in kept
    assert len(kept.encode()) < MAX_RAW_TEXT_BYTES + 100


def test_reasons_stay_short_whatever_the_value() -> None:
    reason = _only_bad(_log(event(DAY, 5, level=json.dumps([["x" * 10_000]]))))
    assert len(reason) < 200


def test_poison_lines_do_not_crash_a_worker_process() -> None:
    bodies = ["\n".join([good_event(DAY, 0), line, good_event(DAY, 1)]).encode()
              for _name, line, _reason in BAD_LOG_LINES]
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(verify_object, ["log_data"] * len(bodies), [LOG] * len(bodies),
                                bodies))
    assert [(len(result.records), len(result.bad)) for result in results] == \
           [(2, 1)] * len(bodies)
