"""The line check and the engines' types agree (no JVM, no database): any line the check
accepts holds values every target's types and models hold, the generator's events are all
accepted by the stage's and the collector's check alike, a value just beyond a limit is
refused with a reason naming its field, and the accepted levels and genders are those of
the models' data tests.

The engine ranges here are written from the engines' documentation, not read from
ingest.raw.limits, so that a limit changed there without reason fails: Spark's TIMESTAMP
holds 0001-01-01 to 9999-12-31 (Python's datetime, the same proleptic Gregorian range),
`int` is 32 bits, Redshift's varchar(max) 65,535 bytes, and PostgreSQL raises an error where
a double subtraction overflows. tests/models/test_generated_events.py runs the same events
through real builds.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.raw import limits
from ingest.raw.lines import LineProblem
from ingest.raw.rules import contract_problem
from ingest.raw.verify import check_line, verify_object
from tests.support.contract_events import (
    BEYOND_LIMITS,
    accepted_event,
    beyond_limit_event,
    generated_events,
)
from tests.support.project import PROJECT_DIR

SPARK_INT = (-(2**31), 2**31 - 1)
REDSHIFT_VARCHAR_MAX_BYTES = 65_535
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
STREAM_KEY = "log_data/stream/events/shardId-000000000000/1-2.json"  # no date in its name
FAST = settings(max_examples=300, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _accepted_values(yml: str, model: str, column: str) -> list[list[str]]:
    """Every accepted_values list of `column` in `model`'s YAML."""
    found = []
    for node in yaml.safe_load((PROJECT_DIR / yml).read_text(encoding="utf-8"))["models"]:
        if node["name"] != model:
            continue
        for entry in node["columns"]:
            for test in entry.get("data_tests", []) if entry["name"] == column else []:
                if isinstance(test, dict) and "accepted_values" in test:
                    found.append(test["accepted_values"]["arguments"]["values"])
    return found


MODEL_LEVELS = _accepted_values("models/marts/_marts__models.yml", "dim_users", "level")[0]
MODEL_GENDERS = _accepted_values("models/marts/_marts__models.yml", "dim_users", "gender")[0]


def assert_every_engine_holds(record: dict[str, Any]) -> None:
    """Each value of an accepted log record fits every target's type and model."""
    user = str(record["userId"])
    if user:
        assert user.isascii() and user.isdigit(), user
        assert str(int(user)) == user and 0 <= int(user) <= SPARK_INT[1]
    for name in ("sessionId", "itemInSession"):
        assert 0 <= record[name] <= SPARK_INT[1]
    for name in ("ts", "registration"):
        if record.get(name) is not None:
            # raises OverflowError outside the years 1..9999, Spark's TIMESTAMP range
            moment = EPOCH + dt.timedelta(milliseconds=record[name])
            assert 1 <= moment.year <= 9999
    if record.get("length") is not None:
        # the song match subtracts a duration: PostgreSQL raises where a double overflows
        assert math.isfinite(record["length"]) and record["length"] >= 0
        assert record["length"] * 2 < sys.float_info.max
    for value in record.values():
        if isinstance(value, str):
            assert len(value.encode("utf-8")) <= REDSHIFT_VARCHAR_MAX_BYTES
            assert "\x00" not in value
    assert record["level"] in MODEL_LEVELS
    assert record.get("gender") is None or record["gender"] in MODEL_GENDERS


def _check(record: dict[str, Any]) -> dict[str, Any]:
    line = json.dumps(record)
    return check_line("log_data", line, line.encode())


@FAST
@given(accepted_event())
def test_generated_events_pass_every_check_and_fit_every_engine(record: dict[str, Any]) -> None:
    line = json.dumps(record, ensure_ascii=False)
    checked = check_line("log_data", line, line.encode())  # the collector's check
    verified = verify_object("log_data", STREAM_KEY, line.encode())  # the stage's, the stream's
    assert verified.bad == [] and [row for _number, row in verified.records] == [checked]
    assert_every_engine_holds(checked)


@FAST
@given(beyond_limit_event())
def test_a_value_beyond_a_limit_is_refused_naming_its_field(record: dict[str, Any]) -> None:
    with pytest.raises(LineProblem) as refused:
        _check(record)
    names = [name for name, value in BEYOND_LIMITS
             if record.get(name) == value and type(record.get(name)) is type(value)]
    assert any(f"field {name!r}" in refused.value.reason for name in names), refused.value


def _anything() -> st.SearchStrategy[Any]:
    """Any JSON value a line could hold where a contract field goes."""
    return st.one_of(
        st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12), st.integers(-(2**40), 2**40).map(str),
        st.sampled_from(["", "0", "00", "1e3", "0x10", "\u0661", " 1", "+1", "free", "paid",
                         "F", "M", "Free"]))


@FAST
@given(accepted_event(), st.dictionaries(
    st.sampled_from(["userId", "sessionId", "itemInSession", "ts", "registration", "length",
                     "level", "gender", "status", "song"]), _anything(), max_size=3))
def test_whatever_the_check_accepts_fits_every_engine(record: dict[str, Any],
                                                       changed: dict[str, Any]) -> None:
    """Hostile values in place of good ones: accepted only when every engine holds them."""
    record = {**record, **changed}
    if contract_problem("log_data", record, None) is None:
        assert_every_engine_holds(_check(record))
    else:
        with pytest.raises(LineProblem):
            _check(record)


def test_the_generated_set_is_all_accepted_with_its_boundaries() -> None:
    events = generated_events(120, refused=20)
    for record in events.accepted:
        assert_every_engine_holds(_check(record))
    for record in events.refused:
        with pytest.raises(LineProblem):
            _check(record)
    seen = {name: {record.get(name) for record in events.accepted}
            for name in ("ts", "userId", "sessionId")}
    assert {limits.EPOCH_MS_MIN, limits.EPOCH_MS_MAX} <= seen["ts"]
    assert {"", "0", str(limits.INT_MAX)} & seen["userId"]
    assert {0, limits.INT_MAX} <= seen["sessionId"]
    assert len({json.dumps(record) for record in events.accepted}) < len(events.accepted)


def test_the_limits_are_the_engines() -> None:
    assert (limits.INT_MIN, limits.INT_MAX) == SPARK_INT
    assert limits.MAX_TEXT_BYTES == REDSHIFT_VARCHAR_MAX_BYTES
    first = EPOCH + dt.timedelta(milliseconds=limits.EPOCH_MS_MIN)
    last = EPOCH + dt.timedelta(milliseconds=limits.EPOCH_MS_MAX)
    assert (first.isoformat(), last.isoformat()) == ("0001-01-01T00:00:00+00:00",
                                                     "9999-12-31T23:59:59.999000+00:00")
    with pytest.raises(OverflowError):
        EPOCH + dt.timedelta(milliseconds=limits.EPOCH_MS_MAX + 1)


@pytest.mark.parametrize(("yml", "model", "column", "accepted"), [
    ("models/intermediate/_intermediate__models.yml", "int_events__deduplicated", "level",
     limits.LEVELS),
    ("models/intermediate/_intermediate__models.yml", "int_events__deduplicated", "gender",
     limits.GENDERS),
    ("models/marts/_marts__models.yml", "fct_songplays", "level", limits.LEVELS),
    ("models/marts/_marts__models.yml", "dim_users", "level", limits.LEVELS),
    ("models/marts/_marts__models.yml", "dim_users", "gender", limits.GENDERS),
])
def test_accepted_values_are_the_limits(yml: str, model: str, column: str,
                                        accepted: tuple[str, ...]) -> None:
    """The values the data tests accept are the ones the line check lets in: a value the
    check accepts can never fail an accepted_values test."""
    assert _accepted_values(yml, model, column) == [list(accepted)]
