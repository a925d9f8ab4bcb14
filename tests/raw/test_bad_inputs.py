"""The bad-input corpus (tests/support/bad_inputs.py) staged end to end, into PostgreSQL and Spark.

Per object: the ledger records the expected status and reason; non-blank lines = rows loaded
+ lines quarantined; the table holds exactly the ledger's rows_loaded rows of it, none twice;
and a second run changes nothing. Every mismatch is listed, not just the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ingest.ledger.store import HAS_ROWS, LOADED, PENDING, QUARANTINED, REJECTED
from ingest.raw.rules import REQUIRED
from ingest.raw.verify import verify_object
from tests.support.bad_inputs import Case, write_corpus
from tests.support.project import postgres_rows

TABLES = ("song_data", "log_data")
# one identity per row: a row twice under the same key is a duplicate
IDENTITY = {"song_data": ("song_id", "artist_id"), "log_data": ("sessionId", "itemInSession")}


@dataclass(frozen=True)
class Outcome:
    """What one stage recorded for one object (attempts left out: retries count them)."""

    status: str
    rows_loaded: int | None
    rows_quarantined: int | None
    blank_lines: int | None
    reason: str | None


@dataclass(frozen=True)
class Staged:
    """One engine's view of the corpus after a stage run."""

    ledger: dict[tuple[str, str], Outcome]
    quarantine: dict[tuple[str, str], list[tuple[str, str]]]  # (reason, raw line) per line
    rows: dict[tuple[str, str], int]  # rows per (table, _source_key)
    duplicates: int  # rows whose (table, _source_key, identity) another row has too
    missing_required: int  # rows with a required column null


def _non_blank_lines(root: Path, key: str) -> int:
    body = (root / key).read_bytes().removeprefix(b"\xef\xbb\xbf")
    return sum(1 for line in body.split(b"\n") if line.strip(b" \t\r"))


def _mismatches(root: Path, cases: Iterable[Case], staged: Staged) -> list[str]:
    """Every way `staged` differs from what the cases expect, one line each."""
    problems: list[str] = []
    expected_keys = set()
    for case in cases:
        where = (case.table, case.key)
        expected_keys.add(where)
        entry = staged.ledger.get(where)
        if entry is None:
            problems.append(f"{case.key} ({case.description}): not in the ledger")
            continue
        problems += [f"{case.key} ({case.description}): {problem}"
                     for problem in _case_problems(root, case, entry, staged)]
    problems += [f"{key}: in the ledger but not a case" for key in
                 sorted(set(staged.ledger) - expected_keys)]
    if staged.duplicates:
        problems.append(f"{staged.duplicates} duplicate rows")
    if staged.missing_required:
        problems.append(f"{staged.missing_required} rows with a required column null")
    return problems


def _case_problems(root: Path, case: Case, entry: Outcome, staged: Staged) -> list[str]:
    where = (case.table, case.key)
    problems = []
    if entry.status != case.status:
        problems.append(f"status {entry.status} ({entry.reason}), expected {case.status}")
    if case.reason not in (entry.reason or "") or (not case.reason and entry.reason):
        problems.append(f"reason {entry.reason!r}, expected one with {case.reason!r}")
    rows = staged.rows.get(where, 0)
    if rows != (entry.rows_loaded or 0):
        problems.append(f"{rows} rows in the table, the ledger says {entry.rows_loaded}")
    if entry.status in HAS_ROWS:
        counts = (entry.rows_loaded, entry.rows_quarantined, entry.blank_lines)
        if counts != (case.rows, case.quarantined, case.blank_lines):
            problems.append(f"rows, quarantined, blank = {counts}, expected "
                            f"{(case.rows, case.quarantined, case.blank_lines)}")
        non_blank = _non_blank_lines(root, case.key)
        if non_blank != (entry.rows_loaded or 0) + (entry.rows_quarantined or 0):
            problems.append(f"{non_blank} non-blank lines != loaded + quarantined")
    lines = staged.quarantine.get(where, [])
    if len(lines) != (entry.rows_quarantined or 0):
        problems.append(f"{len(lines)} quarantined lines, the ledger says "
                        f"{entry.rows_quarantined}")
    problems += [f"quarantined line reason {reason!r} lacks {case.reason!r}"
                 for reason, _raw in lines if case.reason not in reason]
    problems += ["a quarantined raw line holds a NUL" for _reason, raw in lines if "\x00" in raw]
    return problems


def _assert_as_expected(root: Path, cases: Iterable[Case], staged: Staged) -> None:
    problems = _mismatches(root, cases, staged)
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems)


def test_the_corpus_has_every_kind_of_case(tmp_path: Path) -> None:
    cases = write_corpus(tmp_path / "raw")
    assert len(cases) >= 50
    assert {case.status for case in cases} == {LOADED, QUARANTINED, PENDING, REJECTED}
    assert {case.table for case in cases} == set(TABLES)


def test_verification_alone_meets_the_corpus_line_rules(tmp_path: Path) -> None:
    """No database: each readable object's verification gives the expected counts."""
    root = tmp_path / "raw"
    cases = write_corpus(root)
    checked = 0
    for case in cases:
        if case.status not in HAS_ROWS or (root / case.key).is_symlink():
            continue
        verified = verify_object(case.table, case.key, (root / case.key).read_bytes())
        counts = (len(verified.records), len(verified.bad), verified.blank_lines)
        assert counts == (case.rows, case.quarantined, case.blank_lines), case.description
        assert all(case.reason in line.reason for line in verified.bad), case.description
        checked += 1
    assert checked >= 40


# --- PostgreSQL ------------------------------------------------------------------------------

def _postgres_staged(database: str) -> Staged:
    ledger = {
        (row["table_name"], row["object_key"]): Outcome(
            row["status"], row["rows_loaded"], row["rows_quarantined"], row["blank_lines"],
            row["reason"])
        for row in postgres_rows(database, "select table_name, object_key, status, rows_loaded, "
                                           "rows_quarantined, blank_lines, reason "
                                           "from sparkify_raw._loaded_objects")
    }
    quarantine: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for row in postgres_rows(database, "select table_name, object_key, reason, raw_line "
                                       "from sparkify_raw._quarantined_lines"):
        quarantine.setdefault((row["table_name"], row["object_key"]), []).append(
            (row["reason"], row["raw_line"]))
    rows: dict[tuple[str, str], int] = {}
    duplicates = missing = 0
    for table in TABLES:
        for row in postgres_rows(database, f"select _source_key, count(*) as n "
                                           f"from sparkify_raw.{table} group by 1"):
            rows[(table, row["_source_key"])] = int(row["n"])
        identity = ", ".join(name.lower() for name in IDENTITY[table])
        duplicates += int(postgres_rows(database, (
            f"select count(*) - count(distinct (_source_key, {identity})) as n "
            f"from sparkify_raw.{table}"))[0]["n"])
        required = " or ".join(f"{name.lower()} is null" for name in REQUIRED[table])
        missing += int(postgres_rows(database, f"select count(*) as n from sparkify_raw.{table} "
                                               f"where {required}")[0]["n"])
    return Staged(ledger, quarantine, rows, duplicates, missing)


def test_postgres_stages_the_corpus_as_expected_and_a_rerun_changes_nothing(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.staging import stage_postgres

    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    root = tmp_path / "raw"
    cases = write_corpus(root)

    stage_postgres(str(root))
    first = _postgres_staged(pg_database)
    _assert_as_expected(root, cases, first)

    stage_postgres(str(root))
    assert _postgres_staged(pg_database) == first

    stage_postgres(str(root))  # the third run (max_attempts) takes pending objects as final
    _assert_as_expected(root, [case.final() for case in cases], _postgres_staged(pg_database))


# --- Spark -----------------------------------------------------------------------------------

def _spark_staged(spark: Any, state: Any, source_uri: str, schema: str) -> Staged:
    from ingest.stage.landing.ledger import ledger_entries
    from tests.support.staging import landing_of

    entries, quarantined = ledger_entries(landing_of(state, source_uri))
    ledger = {(entry.table, entry.key): Outcome(entry.status, entry.rows_loaded,
                                                entry.rows_quarantined, entry.blank_lines,
                                                entry.reason) for entry in entries}
    quarantine: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for table, key, _line, reason, raw in quarantined:
        quarantine.setdefault((table, key), []).append((reason, raw))
    rows: dict[tuple[str, str], int] = {}
    duplicates = missing = 0
    for table in TABLES:
        name = f"{schema}.{table}"
        for key, count in spark.sql(f"select _source_key, count(*) from {name} "
                                    f"group by 1").collect():
            rows[(table, key)] = int(count)
        identity = ", ".join(f"`{column}`" for column in IDENTITY[table])
        duplicates += int(spark.sql(f"select count(*) - count(distinct _source_key, {identity}) "
                                    f"from {name}").collect()[0][0])
        required = " or ".join(f"`{column}` is null" for column in REQUIRED[table])
        missing += int(spark.sql(f"select count(*) from {name} "
                                 f"where {required}").collect()[0][0])
    return Staged(ledger, quarantine, rows, duplicates, missing)


@pytest.mark.spark
def test_spark_stages_the_corpus_as_expected_and_a_rerun_changes_nothing(
    spark: Any, session_state: Path, tmp_path: Path
) -> None:
    from ingest.paths import StatePaths
    from ingest.raw.sources import parse_source
    from tests.support.staging import stage_spark

    root = tmp_path / "raw"
    cases = write_corpus(root)
    state = StatePaths(tmp_path / "state")
    source_uri = parse_source(str(root)).uri

    stage_spark(str(root), schema="corpus_raw", state=state, spark=spark)
    first = _spark_staged(spark, state, source_uri, "corpus_raw")
    _assert_as_expected(root, cases, first)

    stage_spark(str(root), schema="corpus_raw", state=state, spark=spark)
    assert _spark_staged(spark, state, source_uri, "corpus_raw") == first
