"""Every setting of docs/settings.md, and every option that sets one, given hostile values
(hypothesis: nan, inf, huge, negative, out of range, control characters, unknown names,
non-URLs): one `error:` line on stderr, exit code 2, no traceback, nothing written.

In process (ingest.cli.main), so the sweep is fast: the settings are all checked before a
command runs, and an option's value by argparse (ingest.setting_options.Checked)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from annotated_types import Ge, Gt, Le, Lt
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic.fields import FieldInfo

from ingest.cli import build_parser, main
from ingest.setting_options import Checked
from ingest.setting_rules import TARGETS
from ingest.settings import GROUPS, SettingsGroup, env_names
from tests.support.project import PROJECT_DIR

CONTROL = st.sampled_from(["\n", "\r", "\x00", "\x1b", "\x07", "\x7f", "\u2028", "\u202e"])
NON_FINITE = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
FIELDS = [(group, name, field) for group in GROUPS
          for name, field in group.model_fields.items()]


WITH_CONTROL = st.tuples(st.text(max_size=8), CONTROL, st.text(max_size=8)).map("".join)

def _bounds(field: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for rule in field.metadata:
        if isinstance(rule, Ge | Gt):
            low = float(rule.ge if isinstance(rule, Ge) else rule.gt)
        if isinstance(rule, Le | Lt):
            high = float(rule.le if isinstance(rule, Le) else rule.lt)
    return low, high


@st.composite
def hostile(draw: Any, field: FieldInfo) -> str:
    """A value that setting must refuse."""
    kind = str(field.annotation)
    candidates: list[st.SearchStrategy[str]] = [WITH_CONTROL]
    if kind in ("<class 'int'>", "<class 'float'>"):
        low, high = _bounds(field)
        assert low is not None and high is not None, f"{field.validation_alias}: unbounded"
        candidates += [NON_FINITE, st.just("9" * 30), st.just("twelve"),
                       st.integers(int(high) + 1, int(high) * 10 ** 6 + 10).map(str),
                       st.integers(-10 ** 30, int(low) - 1 if low == int(low) else
                                   int(low)).filter(lambda value: value < low).map(str)]
    elif "Literal" in kind and "spark" in kind:  # the target
        candidates.append(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1,
                                  max_size=12).filter(lambda name: name not in TARGETS))
    elif "bool" in kind:
        candidates.append(st.sampled_from(["maybe", "2", "yes please"]))
    elif "date" in kind:
        candidates.append(st.sampled_from(["2018-13-01", "2018-02-30", "tomorrow"]))
    name = env_names(field)[0]
    if name.startswith("AWS_ENDPOINT_URL"):
        candidates.append(st.sampled_from(["not a url", "ftp://x", "http://", "x:99999",
                                           "http://h:99999"]))
    if name in ("SPARKIFY_EVERY", "SPARKIFY_STREAM_EVERY"):
        candidates.append(st.sampled_from(["99999999999999999999h", "0", "-5m", "8d", "nan",
                                           "inf", "1e3h", "10 minutes"]))
    if name == "SPARKIFY_PRODUCE_RATE":
        candidates.append(st.sampled_from(["0", "nan", "inf", "-1", "1e9", "fast"]))
    return draw(st.one_of(candidates))


def _one_error_line(code: int | None, err: str) -> None:
    assert code == 2, err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err


@pytest.fixture(autouse=True)
def _private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for group in GROUPS:
        for field in group.model_fields.values():
            for name in env_names(field):
                if name not in ("SPARKIFY_PROJECT_DIR",):
                    monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str]:
    capsys.readouterr()
    try:
        code: int | None = main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 2
    return code, capsys.readouterr().err


def _settle() -> settings:
    return settings(max_examples=4, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize(("group", "name", "field"), FIELDS,
                         ids=[env_names(field)[0] for _g, _n, field in FIELDS])
def test_every_setting_set_hostile_is_one_error_line(
        group: type[SettingsGroup], name: str, field: FieldInfo, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    variable = env_names(field)[0]

    @_settle()
    @given(hostile(field))
    def check(value: str) -> None:
        assume("\x00" not in value)  # no environment variable can hold one
        os.environ[variable] = value
        try:
            code, err = _run(["generate", "--out", str(tmp_path / "out")], capsys)
        finally:
            del os.environ[variable]
        _one_error_line(code, err)
        assert variable in err, err
        assert sorted(path.name for path in tmp_path.iterdir()) == []

    check()


def _checked_options() -> list[tuple[str, str, Checked]]:
    found = []
    parser = build_parser()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        assert isinstance(action, argparse._SubParsersAction)
        for command, sub in action.choices.items():
            for option in sub._actions:
                if isinstance(option.type, Checked) and option.option_strings:
                    found.append((command, option.option_strings[0], option.type))
    return found


OPTIONS = _checked_options()


def test_every_option_named_in_the_settings_table_checks_its_values() -> None:
    named = {(env_names(field)[0], option) for _g, _n, field in FIELDS
             for option in re.findall(r"\(--([a-z-]+)", str(field.description))}
    checked = {(checker.variable, option.lstrip("-")) for _c, option, checker in OPTIONS}
    flags = {"SPARKIFY_PRUNE", "SPARKIFY_WAIT", "SPARKIFY_SCHEMA", "SPARKIFY_RAW_SCHEMA",
             "SPARKIFY_REGION"}  # yes/no flags; schema names (their own check); see below
    assert {pair for pair in named if pair[0] not in flags} <= checked
    assert len(OPTIONS) >= 50, len(OPTIONS)


@pytest.mark.parametrize(("command", "option", "checker"), OPTIONS,
                         ids=[f"{command} {option}" for command, option, _c in OPTIONS])
def test_every_option_given_hostile_is_one_error_line(
        command: str, option: str, checker: Checked, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    field = checker.group.model_fields[checker.name]

    @_settle()
    @given(hostile(field))
    @example("\n")
    def check(value: str) -> None:
        code, err = _run([command, f"{option}={value}"], capsys)
        _one_error_line(code, err)
        assert f"argument {option}" in err, err
        assert sorted(path.name for path in tmp_path.iterdir()) == []

    check()


@pytest.mark.parametrize("argv", [
    ["collect", "--linger-ms", "inf"], ["collect", "--rate", "nan"],
    ["collect", "--port", "70000"], ["collect", "--max-body", "999999999"],
    ["deliver", "--max-seconds", "nan"], ["run", "--every", "99999999999999999999h"],
    ["run", "--idle-exit-code", "256"], ["stage", "--target", "postgress"],
    ["stage", "--raw-schema", "a\nb"], ["report", "--schema", "x;drop"],
    ["produce", "--speedup", "inf"], ["stage", "--no-such-option", "\x1b[31m"],
])
def test_the_options_of_the_issue_are_refused_like_their_variables(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(argv, capsys)
    _one_error_line(code, err)
    assert "\x1b" not in err


def test_the_variables_of_the_issue_are_refused_before_anything_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "conf"
    before = subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_DIR,
                            capture_output=True, text=True, check=True).stdout
    for name, value, argv in [
            ("SPARKIFY_TARGET", "postgress", ["stage", "--source", str(tmp_path)]),
            ("SPARKIFY_TARGET", "redshift", ["run", "--once"]),  # a target, not run's
            ("AWS_ENDPOINT_URL", "not a url", ["produce", "--stream", "s", "--source", "x"]),
            ("SPARKIFY_IDLE_EXIT_CODE", "256", ["run", "--once"]),
            ("SPARKIFY_SPARK_MASTER", "local[*]\nspark.evil true",
             ["spark-conf", "--dir", str(conf)]),
            ("SPARKIFY_EVERY", "99999999999999999999h", ["run"])]:
        monkeypatch.setenv(name, value)
        code, err = _run(argv, capsys)
        monkeypatch.delenv(name)
        _one_error_line(code, err)
        assert name in err
    assert not conf.exists()
    after = subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_DIR,
                           capture_output=True, text=True, check=True).stdout
    assert after == before
    assert dt.date.today()  # the sweep ran in the test's own folder
