"""The orjson fast path changes nothing: verify_object gives exactly what it gives with the
fast path switched off (every line through the stdlib parser, as before orjson), on every
input.

"Exactly": the same records with the same values of the same types (1, 1.0 and True differ;
-0.0 and 0.0 differ; field order counts), the same quarantined lines with the same reasons,
the same blank line count, and the same Rejected or Unreadable with the same message.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from ingest.raw import lines as line_parsing
from ingest.raw import verify
from ingest.raw.lines import fast_parse
from ingest.sample.generate import GenerateConfig, generate
from tests.support.bad_inputs import (
    BAD_LOG_LINES,
    DAY,
    DEEP_100K,
    DIGITS_401,
    DIGITS_5000,
    LOG,
    SONG,
    event,
    song_record,
    with_fields,
    write_corpus,
)
from tests.support.raw_lines import good_event


def _typed(value: Any) -> Any:
    """`value` with every type spelled out: 1, 1.0, True and -0.0 all compare different."""
    if type(value) is dict:
        return ("dict", [(name, _typed(item)) for name, item in value.items()])
    if type(value) is list:
        return ("list", [_typed(item) for item in value])
    return (type(value).__name__, repr(value))


def _stdlib_only(_data: bytes) -> None:
    return None  # "take the stdlib path", for every line


def _outcome(fast: bool, table: str, key: str, body: bytes, final: bool) -> Any:
    try:
        if fast:
            verified = verify.verify_object(table, key, body, final=final)
        else:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(line_parsing, "fast_parse", _stdlib_only)
                verified = verify.verify_object(table, key, body, final=final)
    except verify.Rejected as exc:
        return ("rejected", str(exc))
    except verify.Unreadable as exc:
        return ("unreadable", str(exc))
    except Exception as exc:  # a crash (a bug) must at least be the same crash
        return ("crash", type(exc).__name__, str(exc))
    return ([(number, _typed(record)) for number, record in verified.records],
            [(bad.line_number, bad.raw_text, bad.reason) for bad in verified.bad],
            verified.blank_lines)


def _assert_same(table: str, key: str, body: bytes) -> None:
    for final in (False, True):
        new = _outcome(True, table, key, body, final)
        old = _outcome(False, table, key, body, final)
        assert new == old, (table, key, body[:300], final)


def _assert_same_line(line: str) -> None:
    """`line` alone, as the last line (cut-off rules), between good lines, and in a song."""
    _assert_same("log_data", LOG, line.encode("utf-8"))
    _assert_same("log_data", LOG, "\n".join([good_event(DAY, 0), line, good_event(DAY, 1)])
                 .encode("utf-8"))
    _assert_same("song_data", SONG, line.encode("utf-8"))


def test_the_comparison_sees_types_and_signs() -> None:
    assert _typed({"a": 1}) != _typed({"a": 1.0}) != _typed({"a": True})
    assert _typed({"a": 0.0}) != _typed({"a": -0.0})
    assert _typed({"a": 1, "b": 2}) != _typed({"b": 2, "a": 1})


def test_good_lines_take_the_fast_path() -> None:
    """Otherwise the comparisons below would compare the stdlib path with itself."""
    lines = [good_event(DAY, 0), with_fields(song_record(1)),
             event(DAY, 0, userAgent='"Mozilla (rv:31.0) a:b"', extra='"x:y"')]
    for line in lines:
        assert fast_parse(line.encode()) == json.loads(line)


def _tricky_lines() -> list[str]:
    good = good_event(DAY, 5)
    deep = {depth: "[" * depth + "1" + "]" * depth for depth in (63, 64, 65, 1000, 1024, 1025)}
    lines = [
        # duplicate field names, at the top and nested, written alike or through escapes
        good.replace('"ts":', '"ts":1,"ts":', 1),
        good.replace('"page":', '"page":"Home","page":', 1),
        good[:-1] + ',"x":1,"x":1}',
        good[:-1] + ',"a":1,"\\u0061":1}',
        good[:-1] + ',"\\u0061":1,"a":2}',
        good[:-1] + ',"a:":1,"a\\u003a":1}',
        good[:-1] + ',"a":"\\u003a","a":"\\u003a"}',
        good[:-1] + ',"a":"\\u003A","a":"\\u003A"}',
        good[:-1] + ',"a":":","a":":"}',
        good[:-1] + ',"k:k":"v:v","k:k":"v:v"}',
        good[:-1] + ',"n":{"b":1,"b":2}}',
        good[:-1] + ',"n":{"b":1},"n":2}',
        good[:-1] + ',"n":{},"n":2}',
        good[:-1] + ',"n":[],"n":2}',
        good[:-1] + ',"n":[{"b":1,"b":1}]}',
        good[:-1] + ',"n":{"b":{"c":1,"c":1}}}',
        good.replace('"artist":', '"artist":"x","artist":', 1),
        good.replace('"userId":"77"', '"userId":"7:7","userId":"7:7"'),
        '{"a":1,"a":1}', '{"a" : 1 , "a" : 1}', '{"":1,"":1}',
        # colons where they are not fields'
        good[:-1] + ',"c":"a:b:c"}', good[:-1] + ',"c:d":"a"}', good[:-1] + ',"c":"\\":"}',
        event(DAY, 5, song='"\\u003a"'), event(DAY, 5, song='"a\\u003Ab"'),
        # NaN, infinities, signed zeros, big and odd numbers
        event(DAY, 5, length="NaN"), event(DAY, 5, length="Infinity"),
        event(DAY, 5, length="-Infinity"), event(DAY, 5, extra="NaN"),
        event(DAY, 5, length="1e400"), event(DAY, 5, length="-1e400"),
        event(DAY, 5, length="1e-400"), event(DAY, 5, length="-0.0"),
        event(DAY, 5, length="-0"), event(DAY, 5, status="-0"), event(DAY, 5, length="0e0"),
        event(DAY, 5, length="1E2"), event(DAY, 5, length="1e+2"),
        event(DAY, 5, length="2.2250738585072011e-308"),
        event(DAY, 5, length="4.9e-324"), event(DAY, 5, length="1.7976931348623157e308"),
        event(DAY, 5, length="1.7976931348623159e308"),
        event(DAY, 5, length="9007199254740993"), event(DAY, 5, length="9007199254740993.0"),
        event(DAY, 5, length="0.1000000000000000055511151231257827021181583404541015625"),
        event(DAY, 5, length=DIGITS_401), event(DAY, 5, sessionId=DIGITS_5000),
        event(DAY, 5, extra=DIGITS_5000), event(DAY, 5, extra="1" * 4300),
        event(DAY, 5, extra="1" * 4301), event(DAY, 5, extra="0." + "1" * 5000),
        event(DAY, 5, length="01"), event(DAY, 5, length="1."), event(DAY, 5, length=".5"),
        event(DAY, 5, length="+1"), event(DAY, 5, length="1e"), event(DAY, 5, length="-"),
        # booleans, null and strings where numbers go, and the reverse
        event(DAY, 5, status="true"), event(DAY, 5, status="false"),
        event(DAY, 5, status="null"), event(DAY, 5, status="200.0"),
        event(DAY, 5, status="2e2"), event(DAY, 5, userId="77"), event(DAY, 5, userId="7.5"),
        event(DAY, 5, userId=str(2**70)), event(DAY, 5, level="true"),
        # NUL, lone surrogates, escapes and characters
        event(DAY, 5, artist='"a\\u0000b"'), event(DAY, 5, artist='"a\\ud800b"'),
        event(DAY, 5, artist='"\\udc00"'), event(DAY, 5, artist='"\\ud800\\ud800"'),
        event(DAY, 5, artist='"\\udfff\\ud800"'), event(DAY, 5, artist='"\\ud83c\\udfb5"'),
        event(DAY, 5, extra='"\\ud800"'), event(DAY, 5, artist='"\\u00e9 \u00e9 \u2028 \x7f"'),
        event(DAY, 5, artist='"\\/\\b\\f\\n\\r\\t\\"\\\\"'), event(DAY, 5, artist='"\\x"'),
        event(DAY, 5, artist='"a\tb"'), event(DAY, 5, artist='"a\x01b"'),
        event(DAY, 5, artist='"\\u12"'), event(DAY, 5, artist='"\\uZZZZ"'),
        # byte order marks and whitespace
        "\ufeff" + good, good + "\ufeff", " " + good + " ", "\t" + good + "\t", good + "\r",
        good.replace(",", " , ").replace(":", " : "), good.replace(":", "\t:\r"),
        good + "\x0c", "\x0c" + good, good + "\u00a0", good + " x", good + "}", good + ",",
        # not objects, not JSON, empty
        "[1, 2]", "null", "1", '"s"', "true", "[]", "{}", "{ }", '[{"a":1,"a":2}]',
        '{"a":1,}', "{'a':1}", "{a:1}", "garbage", "{", '{"a"', '{"a":', '{"a":1',
        # depth
        *(event(DAY, 5, extra=text) for text in deep.values()),
        *(event(DAY, 5, song=text) for text in deep.values()), DEEP_100K,
        event(DAY, 5, extra="{\"a\":" * 100 + "1" + "}" * 100),
    ]
    # huge integers at every edge, in an int, a bigint, a double and a string field
    for edge in (2**31, 2**32, 2**53, 2**63, 2**64):
        for number in (edge - 1, edge, edge + 1, -edge - 1, -edge, -edge + 1):
            for name in ("status", "ts", "length", "userId", "extra"):
                lines.append(event(DAY, 5, **{name: str(number)}))
                lines.append(event(DAY, 5, **{name: f"{number}.0"}))
                lines.append(event(DAY, 5, **{name: f"[{number}]"}))
    return lines


@pytest.mark.parametrize("line", _tricky_lines())
def test_tricky_lines_verify_as_before(line: str) -> None:
    _assert_same_line(line)


@pytest.mark.parametrize(("name", "line"), [(name, line) for name, line, _ in BAD_LOG_LINES],
                         ids=[name for name, _, _ in BAD_LOG_LINES])
def test_the_rule_test_lines_verify_as_before(name: str, line: str) -> None:
    _assert_same_line(line)


def test_the_bad_input_corpus_verifies_as_before(tmp_path: Path) -> None:
    root = tmp_path / "raw"
    checked = 0
    for case in write_corpus(root):
        path = root / case.key
        if path.is_symlink() or not path.is_file():
            continue
        body = path.read_bytes()
        _assert_same(case.table, case.key, body)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            continue
        for line in text.split("\n"):
            if line.strip() and len(line) < 200_000:
                _assert_same_line(line)
        checked += 1
    assert checked >= 40


def test_generated_data_verifies_as_before(tmp_path: Path) -> None:
    generate(tmp_path, GenerateConfig(songs=200, days=2, events_per_day=1500, seed=3))
    paths = sorted(tmp_path.glob("*_data/**/*.json"))
    assert len(paths) > 200
    for path in paths:
        key = path.relative_to(tmp_path).as_posix()
        _assert_same(key.split("/", 1)[0], key, path.read_bytes())


def test_random_numbers_read_as_before() -> None:
    rng = random.Random(13)
    values = []
    for _ in range(1000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        digits = digits.lstrip("0") or "0"
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 25)))
        exponent = rng.choice(["", f"e{rng.randint(-330, 330)}", f"E+{rng.randint(0, 30)}"])
        sign = rng.choice(["", "-"])
        values.append(f"{sign}{digits}{'.' + fraction if fraction else ''}{exponent}")
        values.append(repr(rng.uniform(-1e6, 1e6)))
        values.append(repr(rng.random() * 10.0 ** rng.randint(-320, 308)))
    body = "\n".join(event(DAY, index, length=value, registration=value, extra=value)
                     for index, value in enumerate(values))
    _assert_same("log_data", LOG, body.encode("utf-8"))


def test_random_damage_verifies_as_before() -> None:
    """Lines broken at random by the characters that matter to JSON and to the fast path."""
    rng = random.Random(7)
    pieces = ['"', "\\", ":", ",", "{", "}", "[", "]", " ", "\\u", "\\u003a", "\\u0061", "0",
              "1", "e", ".", "-", "+", "NaN", "Infinity", "true", "null", "\u00e9",
              "\x00", "\t", "\r", '"a":1,', '"ts":1,', "9" * 20, "\ufeff"]
    seeds = [good_event(DAY, 1), with_fields(song_record(1)),
             event(DAY, 2, userAgent='"a:b \\"c\\":d"', song='"x\\u00e9:"')]
    lines = []
    for _ in range(2500):
        line = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(line) + 1)
            cut = rng.choice([0, 0, 1, rng.randint(1, 5)])
            line = line[:at] + rng.choice(pieces) + line[at + cut:]
        lines.append(line.replace("\n", " "))
    for start in range(0, len(lines), 200):
        body = "\n".join([good_event(DAY, 0), *lines[start:start + 200]])
        _assert_same("log_data", LOG, body.encode("utf-8"))
    for line in lines[:600]:
        _assert_same("log_data", LOG, line.encode("utf-8"))
