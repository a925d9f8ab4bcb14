"""ingest.dev.watch: a change is reported once the project's fingerprint differs from the
built one and has settled; no change, no build. Fingerprints are generated (hypothesis)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ingest.dev.watch import ProjectWatch


def _watch(readings: list[str], polls: int) -> tuple[ProjectWatch, list[float], list[int]]:
    """A watch whose fingerprints are `readings` in order (the last repeats), asked to stop
    after `polls` checks."""
    sleeps: list[float] = []
    left = [polls]
    feed = iter(readings)
    last = [readings[-1]]

    def fingerprint(_: Path) -> str:
        last[0] = next(feed, last[0])
        return last[0]

    watch = ProjectWatch(Path("."), fingerprint=fingerprint, sleep=sleeps.append)
    return watch, sleeps, left


def _keep(left: list[int]) -> bool:
    left[0] -= 1
    return left[0] >= 0


def test_a_change_that_settles_is_reported(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "a.sql"
    model.write_text("select 1\n", encoding="utf-8")
    watch = ProjectWatch(tmp_path, sleep=lambda _: None)
    watch.mark_built()
    assert not watch.wait_for_change(iter([True, True, False]).__next__)

    model.write_text("select 2\n", encoding="utf-8")
    assert watch.wait_for_change()


def test_a_file_that_vanishes_while_read_is_a_change_not_a_crash() -> None:
    calls: Iterator[str | OSError] = iter(["a", OSError("gone"), "b", "b"])

    def fingerprint(_: Path) -> str:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    watch = ProjectWatch(Path("."), fingerprint=fingerprint, sleep=lambda _: None)
    watch.mark_built()
    assert watch.wait_for_change()


@given(built=st.sampled_from("abc"),
       readings=st.lists(st.sampled_from("abc"), min_size=1, max_size=12))
def test_a_reported_change_is_a_settled_difference_and_no_difference_is_never_one(
        built: str, readings: list[str]) -> None:
    watch, _, left = _watch([built, *readings], polls=len(readings) + 2)
    watch.mark_built()

    changed = watch.wait_for_change(lambda: _keep(left))

    tail = [*readings, readings[-1]]  # the last reading repeats
    settled = {first for first, second in itertools.pairwise(tail) if first == second}
    if changed:
        assert settled - {built}, "a change was reported that never settled"
    if set(readings) == {built}:
        assert not changed


@given(built=st.sampled_from("ab"), unchanged=st.integers(0, 8))
def test_a_difference_that_holds_is_reported_after_the_unchanged_polls(
        built: str, unchanged: int) -> None:
    other = "c"
    watch, sleeps, left = _watch([built, *[built] * unchanged, other, other],
                                 polls=unchanged + 2)
    watch.mark_built()

    assert watch.wait_for_change(lambda: _keep(left))
    assert sleeps.count(watch.poll_seconds) == unchanged
    assert sleeps[-1] == watch.settle_seconds
