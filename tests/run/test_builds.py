"""The build marker: the project fingerprint changes with the dbt project's files, and only
with them; the ledger mark with the rows staged, and only with them (no JVM, no database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ingest.ledger.store import changed_tables, mark_of
from ingest.paths import StatePaths
from ingest.raw.sources import parse_source
from ingest.run.builds import BuildMarker, PrunedDays, needs_build, pruned_days_args
from ingest.run.project_files import project_fingerprint
from ingest.run.scheduler import changed_lineage
from ingest.stage.core import StageOptions
from ingest.stage.landing.folder import Landing
from ingest.stage.ledger_mark import NOTHING_STAGED, landing_mark
from tests.support.project import PROJECT_DIR, copy_handwritten, copy_project
from tests.support.raw_lines import log_key, log_with_bad_lines
from tests.support.staging import land

TABLE_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
DIGESTS = st.from_regex(r"[0-9a-f]{16}", fullmatch=True)


def test_the_fingerprint_follows_the_dbt_files_only(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", "README.md")
    first = project_fingerprint(project)
    assert project_fingerprint(project) == first == project_fingerprint(PROJECT_DIR)

    (project / "README.md").write_text("not part of the build\n", encoding="utf-8")
    assert project_fingerprint(project) == first

    model = project / "models" / "marts" / "dim_users.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    changed = project_fingerprint(project)
    assert changed != first

    (project / "macros" / "extra.sql").write_text("{% macro extra() %}{% endmacro %}\n",
                                                  encoding="utf-8")
    assert project_fingerprint(project) not in {first, changed}


def test_a_marker_of_another_project_is_not_current(tmp_path: Path) -> None:
    marker = BuildMarker.of(StatePaths(tmp_path), "spark@x", "raw", "marts", PROJECT_DIR)
    assert not marker.is_current("m1")
    marker.record_built("m1")
    assert marker.is_current("m1")
    assert not marker.is_current("m2"), "the ledger moved since the build read it"
    marker.path.write_text("the marts were built from the ledger state m1, with project 0\n",
                           encoding="utf-8")
    assert not marker.is_current("m1")
    marker.path.write_text("the marts were built from everything staged, with project "
                           f"{project_fingerprint(PROJECT_DIR)}\n", encoding="utf-8")
    assert not marker.is_current("m1"), "a marker from before ledger marks builds again"
    marker.path.write_text("the marts were built from everything staged\n", encoding="utf-8")
    assert not marker.is_current("m1"), "a marker from before fingerprints builds again"


def test_the_ledger_mark_follows_the_rows_staged(tmp_path: Path) -> None:
    """The Spark landing's mark (the same digest as a warehouse's, LedgerStore.state_mark):
    it moves with every commit that adds, replaces or removes rows, and only then."""
    raw = copy_handwritten(tmp_path)
    state = StatePaths(tmp_path / "state")
    mark = landing_mark(Landing.of(state, parse_source(str(raw))))
    assert mark() == NOTHING_STAGED
    land(str(raw), state)
    first = mark()
    assert first != NOTHING_STAGED
    land(str(raw), state)
    assert mark() == first, "nothing new: the same mark"

    day = dt.date(2018, 11, 3)
    new_day = raw / log_key(day)
    new_day.parent.mkdir(parents=True, exist_ok=True)
    new_day.write_bytes(log_with_bad_lines(day, 5, []))
    land(str(raw), state)
    added = mark()
    assert added not in {first, NOTHING_STAGED}
    assert changed_tables(first, added) == {"log_data"}
    assert changed_tables(NOTHING_STAGED, first) is None, "no ledger before: unknown"

    new_day.write_bytes(log_with_bad_lines(day, 6, []))  # the same object, changed
    land(str(raw), state)
    changed = mark()
    assert changed not in {first, added}

    new_day.unlink()  # gone from the source: its rows stay, until a stage prunes them
    land(str(raw), state)
    assert mark() == changed
    land(str(raw), state, StageOptions(prune=True))
    assert mark() not in {added, changed}
    assert changed_tables(changed, mark()) == {"log_data"}

    song = next((raw / "song_data").rglob("*.json"))
    song.write_text(song.read_text(encoding="utf-8").replace('"year"', '"year" '),
                    encoding="utf-8")
    before = mark()
    land(str(raw), state)
    assert changed_tables(before, mark()) == {"song_data"}
    assert changed_tables(None, mark()) is None, "no mark recorded: unknown"


@given(st.dictionaries(TABLE_NAMES, DIGESTS), st.dictionaries(TABLE_NAMES, DIGESTS))
def test_changed_tables_are_those_whose_digest_moved(
    before: dict[str, str], after: dict[str, str]
) -> None:
    """Two marks of a ledger: the tables that gained, lost or changed rows between them;
    unknown (None) for a mark from before per-table digests (one digest for all)."""
    assert changed_tables(mark_of(before), mark_of(after)) == {
        table for table in before.keys() | after.keys() if before.get(table) != after.get(table)}
    assert changed_tables(mark_of(before), mark_of(before)) == frozenset()
    assert changed_tables("3f2a9c0d1e4b5a6c", mark_of(after)) is None


@given(st.sets(st.sampled_from(["song_data", "log_data", "other_data"])))
def test_a_build_selects_what_reads_the_tables_that_changed(changed: set[str]) -> None:
    """Some of the project's raw tables changed: the models that read them, with their
    tests; none, all or an unknown one: everything (no --select)."""
    args = changed_lineage(frozenset(changed))
    if changed and changed < {"song_data", "log_data"}:
        assert args == ["--select", *(f"source:sparkify.{table}+" for table in sorted(changed))]
    else:
        assert args == []
    assert changed_lineage(None) == []


def test_a_build_marker_compares_the_ledger_with_what_the_build_read(tmp_path: Path) -> None:
    """A stage committed while the build ran (after the mark, before the marker): the
    marker says what the build read, so the next cycle sees the ledger moved and builds."""
    marker = BuildMarker.of(StatePaths(tmp_path), "spark@x", "raw", "marts", PROJECT_DIR)
    assert needs_build(marker, False, "before")  # never built
    marker.record_built("before")  # the build took "before", then a stage committed
    assert needs_build(marker, False, "after"), "the rows staged during the build"
    assert not needs_build(marker, False, "before")
    assert needs_build(marker, True, "before") and not marker.path.exists()


def test_pruned_days_wait_for_the_build_that_removes_them(tmp_path: Path) -> None:
    """Pruned days are kept until a build removed them: days pruned while it ran stay for
    the next one; an object without a date in its name makes it a full refresh."""
    pruned = PrunedDays.of(StatePaths(tmp_path), "postgres@h:1/db", "raw")
    assert pruned.pending() == frozenset() and pruned_days_args(frozenset()) == []
    first, second = dt.date(2018, 11, 3), dt.date(2018, 11, 4)
    pruned.add(frozenset({first}))
    removing = pruned.pending()  # a build starts
    assert removing == {first}
    assert pruned_days_args(removing) == ["--vars", '{"pruned_days": ["2018-11-03"]}']
    pruned.add(frozenset({second}))  # pruned while it ran
    pruned.built(removing)
    assert pruned.pending() == {second}
    pruned.add(None)
    assert pruned.pending() is None and pruned_days_args(None) == ["--full-refresh"]
    pruned.built(None)
    assert pruned.pending() == frozenset() and not pruned.path.exists()
