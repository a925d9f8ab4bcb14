"""Staging under faults, on both sinks (Postgres, the Spark landing): after each fault and a
clean rerun, the source, the ledger and the rows reconcile object by object.

Faults: kill -9 mid-stage, two stages at once, the database connection killed mid-COPY, a
full disk under the landing, a raw folder that vanishes, an object rewritten between its
listing and its reading, landed data lost behind the ledger's back.
"""

from __future__ import annotations

import errno
import json
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import ingest.stage.landing.sink as landing_module
from ingest.errors import IngestError
from ingest.ledger.store import LOADED, PENDING
from ingest.paths import StatePaths
from ingest.raw.sources import LocalSource, RawObject, ReadResult
from ingest.sample.generate import GenerateConfig, generate
from ingest.stage.core import StageOptions, TableLoad
from ingest.stage.landing.format import log_file_name, song_bucket
from tests.support.fault_data import (
    Run,
    Runner,
    Target,
    assert_reconciled,
    error_lines,
    lock_held_by,
    log_keys,
    processed_keys,
    raw_objects,
    reconciliation_problems,
    rewrite_log,
    runner,
    snapshot,
    snapshot_changes,
    song_keys,
    table_of,
    wait_for,
)
from tests.support.project import postgres_connect
from tests.support.staging import land, stage_postgres

pytestmark = pytest.mark.faults

KINDS = ("postgres", "landing")
# Runs long enough to be hit mid-way (kill -9, a lost connection): 1500 songs, 12 days of
# 3000 events; 10 objects a batch for the kills: 150 song batches, 2 log batches.
BIG = GenerateConfig(songs=1500, days=12, events_per_day=3000, seed=20)
# Everything else: 300 songs, 12 days of 800 events; 5 objects a batch (60 + 3 batches).
SMALL = GenerateConfig(songs=300, days=12, events_per_day=800, seed=21)
BATCH = 5
KILL_BATCH = 10
COPY_BATCH = 6  # two log batches of 6 days: the second COPY is cut off
NOTHING = {"song_data": 0, "log_data": 0}


@pytest.fixture(scope="module")
def big_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The large generated source, shared read-only."""
    out = tmp_path_factory.mktemp("faults") / "raw"
    generate(out, BIG)
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small generated source, shared read-only; tests that change it use a copy."""
    out = tmp_path_factory.mktemp("faults") / "raw"
    generate(out, SMALL)
    return out


def own_copy(dataset: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(dataset, tmp_path / "raw"))


def make_target(kind: str, source: Path, state: Path, request: pytest.FixtureRequest,
                schema: str = "sparkify_raw") -> Target:
    database = str(request.getfixturevalue("pg_database")) if kind == "postgres" else ""
    return Target(kind, source, state, database, schema)


def staged_copy(kind: str, dataset: Path, tmp_path: Path, request: pytest.FixtureRequest,
                runs: Runner) -> tuple[Path, Target, dict[str, str]]:
    """A copy of the dataset, its target, and the target's env, after one clean stage."""
    source = own_copy(dataset, tmp_path)
    target = make_target(kind, source, tmp_path / "state", request)
    env = target.env()
    assert_ok(runs.run(target.stage_command(BATCH), env), "the first stage")
    return source, target, env


def stage_in_process(target: Target, *, wait: bool = False) -> list[TableLoad]:
    """A stage in this process (wait=False: a lock left held would show as Busy, not hang)."""
    options = StageOptions(batch_objects=BATCH, wait=wait)
    if target.kind == "postgres":
        return stage_postgres(str(target.source), schema=target.schema,
                              state=StatePaths(target.state), options=options)
    _songs, _logs, report = land(str(target.source), StatePaths(target.state), options)
    return report.loads()


def loaded_and_pending(loads: list[TableLoad]) -> dict[str, tuple[int, int]]:
    return {load.table: (load.objects_loaded, load.objects_pending) for load in loads}


def assert_ok(run: Run, doing: str) -> None:
    assert run.process.returncode == 0, f"{doing} failed: {run.describe()}"


def assert_third_run_changes_nothing(target: Target, runs: Runner, batch: int = BATCH) -> None:
    """A run after a complete one processes nothing, and touches no row, entry or file."""
    before = snapshot(target)
    third = runs.run(target.stage_command(batch), target.env())
    assert_ok(third, "the run after the complete one")
    assert processed_keys(target, third) == NOTHING, (
        f"a run after a complete one processed objects: {third.describe()}")
    changes = snapshot_changes(before, snapshot(target))
    assert not changes, f"a run with nothing new changed the sink: {changes[:10]}"


def pause_outside_transactions(run: Run, target: Target, timeout: float = 30) -> None:
    """SIGSTOP a stage holding its lock, at a moment it has no transaction open.

    A stage paused inside a batch transaction would hold table locks that the other stage's
    start-up DDL waits for (see test_a_no_wait_stage_is_not_held_up_by_a_running_batch).
    """
    if target.kind != "postgres":
        run.signal_group(signal.SIGSTOP)
        return
    connection = postgres_connect(target.database)
    connection.autocommit = True
    sql = ("select count(*) from pg_stat_activity where datname = %s and "
           "application_name = 'sparkify-ingest' and state <> 'idle' "
           "and pid <> pg_backend_pid()")  # this connection is the ingest's too
    deadline = time.monotonic() + timeout
    try:
        with connection.cursor() as cursor:
            while True:
                run.signal_group(signal.SIGSTOP)
                busy = 0
                for _check in range(2):  # twice: a statement sent just before the stop
                    cursor.execute(sql, (target.database,))
                    busy += int(cursor.fetchone()[0])
                    time.sleep(0.02)
                if not busy:
                    return
                run.signal_group(signal.SIGCONT)
                assert time.monotonic() < deadline, "no moment without a transaction open"
                assert run.process.poll() is None, (
                    f"the stage ended before it could be paused: {run.describe()}")
                time.sleep(0.003)
    finally:
        connection.close()


# --- 1. kill -9 -----------------------------------------------------------------------

KILL_AT = (0.3, 0.55, 0.8)  # fractions of a clean run's length
# A machine that got faster since the clean run may finish before a late kill: that point is
# tried again, on a fresh target, this much earlier (a few times at most).
KILL_EARLIER, KILL_TRIES = 0.7, 4


def kill_mid_run(runs: Runner, victim: Target, delay: float) -> bool:
    """Start a stage, SIGKILL it (and its workers) after `delay` s; False if it ended first."""
    run = runs.start(victim.stage_command(KILL_BATCH), victim.env())
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and run.process.poll() is None:
        time.sleep(0.005)
    if run.process.poll() is not None:
        assert_ok(run, "a stage that ended before its kill")
        return False
    run.kill()
    assert run.process.returncode == -signal.SIGKILL, run.describe()
    return True


@pytest.mark.parametrize("kind", KINDS)
def test_kill_9_at_any_point_then_a_rerun_reconciles(
    kind: str, big_dataset: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    objects = len(raw_objects(big_dataset))
    names = iter(range(100))

    def target(name: str = "") -> Target:
        name = name or f"kill{next(names)}"
        return make_target(kind, big_dataset, tmp_path / f"state-{name}", request, schema=name)

    with runner(tmp_path / "logs") as runs:
        clean = target("clean")
        began = time.monotonic()
        assert_ok(runs.run(clean.stage_command(KILL_BATCH), clean.env()), "the clean run")
        length = time.monotonic() - began
        assert_reconciled(clean, when="after a clean run")

        partial = []
        for fraction in KILL_AT:
            delay = fraction * length
            for _try in range(KILL_TRIES):
                victim = target()
                # a kill that lands after the last commit (the process was only reporting or
                # exiting: a loaded machine stretches the run) tests nothing: try earlier
                if kill_mid_run(runs, victim, delay) and len(victim.ledger()) < objects:
                    break
                delay *= KILL_EARLIER
            else:
                raise AssertionError(f"no kill landed before the stage's last commit "
                                     f"({delay:.1f} s)")
            held = victim.ledger()
            assert len(held) < objects
            partial.append(len(held))
            landed = {table: sum(pair[0] == table for pair in held) for table in NOTHING}
            print(f"{kind}: kill -9 after {delay:.1f} s of {length:.1f} s: ledger {landed}")
            # what a crash leaves is consistent: Postgres commits rows with their entries;
            # the landing may hold files no entry claims yet (its repair removes them)
            assert_reconciled(victim, complete=False, unclaimed_ok=kind == "landing",
                              when=f"right after a kill -9 after {delay:.1f} s")

            assert_ok(runs.run(victim.stage_command(KILL_BATCH), victim.env()), "the rerun")
            assert_reconciled(victim, when=f"after a kill -9 after {delay:.1f} s and a rerun")
            assert_third_run_changes_nothing(victim, runs, KILL_BATCH)
        assert any(partial), f"every kill came before the first commit ({partial} entries)"


# --- 2. two stages at once ------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_two_stages_of_changed_objects_run_one_after_the_other(
    kind: str, dataset: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with runner(tmp_path / "logs") as runs:
        source, target, env = staged_copy(kind, dataset, tmp_path, request, runs)
        changed = log_keys(source)[1:5]
        for variant, key in enumerate(changed):
            rewrite_log(source / key, variant)

        pair = (runs.start(target.stage_command(BATCH), env),
                runs.start(target.stage_command(BATCH), env))
        holder = wait_for(lambda: next((run for run in pair
                                        if lock_held_by(target.locks, run.pid)), None),
                          60, "one of the two stages to take the lock")
        other = pair[1] if holder is pair[0] else pair[0]
        pause_outside_transactions(holder, target)
        try:
            wait_for(lambda: "waiting for" in other.stderr(), 60,
                     "the second stage to wait for the first")
        finally:
            holder.signal_group(signal.SIGCONT)
        for run in pair:
            run.wait()
            assert_ok(run, "one of two concurrent stages")
        assert processed_keys(target, holder) == {"song_data": 0, "log_data": len(changed)}
        assert processed_keys(target, other) == NOTHING, (
            f"the stage that waited redid work: {other.describe()}")
        assert_reconciled(target, when="after two concurrent stages")

        # --no-wait: the second stops at once, naming the lock; the first completes
        again = log_keys(source)[6:9]
        for variant, key in enumerate(again, start=4):
            rewrite_log(source / key, variant)
        first = runs.start(target.stage_command(BATCH), env)
        lock = wait_for(lambda: lock_held_by(target.locks, first.pid), 60,
                        "the stage to take its lock")
        pause_outside_transactions(first, target)
        try:
            busy = runs.run(target.cli_command("--no-wait"), env, timeout=60)
        finally:
            first.signal_group(signal.SIGCONT)
        assert busy.process.returncode == 75, busy.describe()
        errors = error_lines(busy.stderr())
        assert len(errors) == 1 and str(lock) in errors[0], (
            f"expected one error line naming the lock {lock}: {busy.describe()}")
        assert "Traceback" not in busy.stderr()
        first.wait()
        assert_ok(first, "the stage the --no-wait one found running")
        assert processed_keys(target, first) == {"song_data": 0, "log_data": len(again)}
        assert_reconciled(target, when="after a --no-wait stage was turned away")


def test_a_no_wait_stage_is_not_held_up_by_a_running_batch(
    dataset: Path, tmp_path: Path, pg_database: str
) -> None:
    """--no-wait stops at once even while the running stage is inside a batch transaction."""
    target = Target("postgres", dataset, tmp_path / "state", pg_database)
    with runner(tmp_path / "logs") as runs:
        first = runs.start(target.stage_command(BATCH), target.env())
        wait_for(lambda: lock_held_by(target.locks, first.pid), 60, "the stage's lock")
        in_batch = pause_inside_a_transaction(first, target)
        try:
            busy = runs.start(target.cli_command("--no-wait"), target.env())
            with suppress(subprocess.TimeoutExpired):
                busy.process.wait(timeout=8)
            blocked_on = blocked_statements(target.database)
        finally:
            first.signal_group(signal.SIGCONT)
        busy.wait()
        first.wait()
        assert_ok(first, "the running stage")
        assert not blocked_on, (
            f"a --no-wait stage was still running 8 s after it started, waiting on "
            f"{blocked_on}, while the running stage was paused inside its transaction "
            f"({in_batch}); it exited {busy.process.returncode} once that one went on")
        assert busy.process.returncode == 75, busy.describe()


def blocked_statements(database: str) -> list[str]:
    """Statements of the stages waiting for a lock held by another transaction."""
    connection = postgres_connect(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select left(query, 100) from pg_stat_activity where datname = %s "
                           "and application_name = 'sparkify-ingest' and wait_event_type = "
                           "'Lock'", (database,))
            return [str(row[0]) for row in cursor.fetchall()]
    finally:
        connection.close()


def pause_inside_a_transaction(run: Run, target: Target, timeout: float = 30) -> str:
    """SIGSTOP a stage while its connection is inside a batch transaction; its query."""
    connection = postgres_connect(target.database)
    connection.autocommit = True
    sql = ("select query from pg_stat_activity where datname = %s and application_name = "
           "'sparkify-ingest' and state in ('active', 'idle in transaction') and "
           "(query ilike 'copy%%' or query ilike 'delete%%' or query ilike 'insert%%')")
    deadline = time.monotonic() + timeout
    try:
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(sql, (target.database,))
                row = cursor.fetchone()
                if row:
                    run.signal_group(signal.SIGSTOP)
                    cursor.execute(sql, (target.database,))
                    if cursor.fetchone():
                        return str(row[0])[:60]
                    run.signal_group(signal.SIGCONT)
                time.sleep(0.001)
    finally:
        connection.close()
    raise AssertionError("never saw the stage inside a batch transaction")


# --- 3. the connection killed mid-COPY ------------------------------------------------

def terminate_nth_copy(database: str, table: str, nth: int, running: Callable[[], bool],
                       outcome: dict[str, Any]) -> None:
    """Terminate the stage's backend during its `nth` COPY into `table` (run in a thread)."""
    connection = postgres_connect(database)
    connection.autocommit = True
    seen: list[Any] = []
    sql = ("select pid, query_start, query from pg_stat_activity where datname = %s and "
           "application_name = 'sparkify-ingest' and state = 'active' and query ilike %s")
    try:
        with connection.cursor() as cursor:
            while running():
                cursor.execute(sql, (database, f"copy %{table}%"))
                for pid, started, query in cursor.fetchall():
                    if started not in seen:
                        seen.append(started)
                    if len(seen) >= nth:
                        cursor.execute("select pg_terminate_backend(%s)", (pid,))
                        outcome.update(pid=pid, query=query, terminated=cursor.fetchone()[0])
                        return
                time.sleep(0.002)
            outcome["missed"] = f"saw {len(seen)} COPYs into {table} before the stage ended"
    except Exception as exc:  # reported by the test
        outcome["error"] = repr(exc)
    finally:
        connection.close()


def test_a_connection_killed_mid_copy_fails_in_one_line_and_a_rerun_completes(
    big_dataset: Path, tmp_path: Path, pg_database: str
) -> None:
    target = Target("postgres", big_dataset, tmp_path / "state", pg_database)
    outcome: dict[str, Any] = {}
    with runner(tmp_path / "logs") as runs:
        run = runs.start(target.stage_command(COPY_BATCH), target.env())
        watcher = threading.Thread(
            target=terminate_nth_copy,
            args=(pg_database, "log_data", 2, lambda: run.process.poll() is None, outcome))
        watcher.start()
        try:
            run.wait()
        finally:
            watcher.join(timeout=30)
        assert outcome.get("terminated"), f"no COPY was terminated: {outcome} {run.describe()}"

        stderr = run.stderr()
        assert run.process.returncode == 2, run.describe()
        assert "Traceback" not in stderr, stderr
        (error,) = error_lines(stderr) or [""]
        assert len(error_lines(stderr)) == 1 and "lost the connection" in error, stderr
        assert "nothing of this batch was committed" in error, error
        print(f"terminated {outcome['query'][:60]!r}: {error}")
        batch = re.search(r"\(from (log_data/\S+)\)", error)
        assert batch, f"the error does not name the batch: {error}"

        held = target.ledger()
        assert (table_of(batch.group(1)), batch.group(1)) not in held, (
            "the batch whose COPY was cut off is in the ledger")
        logs = sum(table == "log_data" for table, _key in held)
        assert logs == COPY_BATCH, f"expected the first log batch committed, not {logs} logs"
        assert_reconciled(target, complete=False, when="after the connection was killed")

        assert_ok(runs.run(target.stage_command(COPY_BATCH), target.env()), "the rerun")
        assert_reconciled(target, when="after a lost connection and a rerun")
        assert_third_run_changes_nothing(target, runs, COPY_BATCH)


# --- 4. a full disk under the landing -------------------------------------------------

# The n-th write of a landed file (of the folder) fails: before anything is written, or
# once the file is in place (its folder's fsync failing), leaving lines nothing claims.
@pytest.mark.parametrize(("folder", "fail_at", "written"), [
    ("song_data", 40, True), ("log_data", 7, False)])
def test_a_full_disk_stops_the_landing_and_a_rerun_lands_everything(
    folder: str, fail_at: int, written: bool, dataset: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Target("landing", dataset, tmp_path / "state")
    real = landing_module.write_durably
    writes = {"done": 0}

    def full_disk(path: Path, rows: Any) -> None:
        if f"/verified/{folder}/" in path.as_posix():
            writes["done"] += 1
            if writes["done"] >= fail_at:
                if written:
                    real(path, rows)
                raise OSError(errno.ENOSPC, "No space left on device")
        real(path, rows)

    monkeypatch.setattr(landing_module, "write_durably", full_disk)
    with pytest.raises(IngestError) as failure:
        stage_in_process(target)
    message = str(failure.value)
    assert str(target.landing) in message and "No space left on device" in message, message
    held = target.ledger()
    assert 0 < len(held) < len(raw_objects(dataset)), f"{len(held)} entries after the fault"
    # nothing the ledger claims is missing from the files (unclaimed lines may be left)
    assert_reconciled(target, complete=False, unclaimed_ok=True, when="after the full disk")

    monkeypatch.setattr(landing_module, "write_durably", real)
    loads = stage_in_process(target)
    assert all(pending == 0 for _loaded, pending in loaded_and_pending(loads).values())
    assert_reconciled(target, when="after a full disk and a rerun")
    before = snapshot(target)
    assert loaded_and_pending(stage_in_process(target)) == {"song_data": (0, 0),
                                                            "log_data": (0, 0)}
    assert not snapshot_changes(before, snapshot(target))


# --- 5. a raw folder that vanishes ----------------------------------------------------

def assert_refused(run: Run, folder: str) -> None:
    assert run.process.returncode == 2, run.describe()
    errors = error_lines(run.stderr())
    assert len(errors) == 1, run.describe()
    assert f"{folder}/ is missing or empty" in errors[0], errors[0]
    assert "nothing was changed" in errors[0], errors[0]
    assert "Traceback" not in run.stderr()


@pytest.mark.parametrize("kind", KINDS)
def test_a_vanished_raw_folder_fails_and_every_row_stays(
    kind: str, dataset: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with runner(tmp_path / "logs") as runs:
        source, target, env = staged_copy(kind, dataset, tmp_path, request, runs)
        before = snapshot(target)

        (source / "log_data").rename(tmp_path / "log_data-away")  # renamed away
        assert_refused(runs.run(target.cli_command(), env, timeout=120), "log_data")
        assert not snapshot_changes(before, snapshot(target)), "a refused stage changed rows"
        (tmp_path / "log_data-away").rename(source / "log_data")

        (source / "song_data").rename(tmp_path / "song_data-away")  # an unmounted folder
        (source / "song_data").mkdir()
        assert_refused(runs.run(target.cli_command(), env, timeout=120), "song_data")
        assert not snapshot_changes(before, snapshot(target)), "a refused stage changed rows"
        (source / "song_data").rmdir()
        (tmp_path / "song_data-away").rename(source / "song_data")

        assert_reconciled(target, when="after two refused stages")
        assert_third_run_changes_nothing(target, runs)


# --- 6. an object rewritten between its listing and its reading -----------------------

def retitle(path: Path) -> None:
    song = json.loads(path.read_bytes())
    song["title"] = f"{song['title']} (rewritten while staged)"
    path.write_text(json.dumps(song), encoding="utf-8")


@pytest.mark.parametrize("kind", KINDS)
def test_an_object_rewritten_while_staged_stays_pending_then_loads_its_new_content(
    kind: str, dataset: Path, tmp_path: Path, request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    source = own_copy(dataset, tmp_path)
    target = make_target(kind, source, tmp_path / "state", request)
    log_key, song_key = log_keys(source)[3], song_keys(source)[150]
    racing: dict[str, Callable[[Path], object]] = {
        log_key: lambda path: rewrite_log(path, 0), song_key: retitle}
    original = LocalSource.read_listed

    def read_listed(self: LocalSource, obj: RawObject) -> ReadResult:
        rewrite = racing.pop(obj.key, None)
        if rewrite is not None:
            rewrite(self.root / obj.key)
        return original(self, obj)

    monkeypatch.setattr(LocalSource, "read_listed", read_listed)
    first = loaded_and_pending(stage_in_process(target))
    assert not racing, "the rewritten objects were never read"
    assert {table: pending for table, (_loaded, pending) in first.items()} == {
        "song_data": 1, "log_data": 1}, first
    held, rows = target.ledger(), target.rows()
    for key in (log_key, song_key):
        entry = held[(table_of(key), key)]
        assert entry.status == PENDING and "changed" in (entry.reason or ""), entry
        assert key not in rows, f"rows of {key} were loaded from content that changed"
    others = {entry.status for pair, entry in held.items() if pair[1] not in {log_key, song_key}}
    assert others == {LOADED}, others
    assert_reconciled(target, complete=False, when="after the run that saw the rewrite")

    monkeypatch.setattr(LocalSource, "read_listed", original)
    assert loaded_and_pending(stage_in_process(target)) == {"song_data": (1, 0),
                                                            "log_data": (1, 0)}
    assert_reconciled(target, when="after the rewritten objects were staged again")
    assert loaded_and_pending(stage_in_process(target)) == {"song_data": (0, 0),
                                                            "log_data": (0, 0)}


# --- 7. the ledger claims what the landing lost ---------------------------------------

def _log_files(target: Target, key: str) -> list[Path]:
    """The landed files of one log object (one per day it has events of)."""
    name = log_file_name(key)
    return sorted((target.landing / "verified" / "log_data").glob(f"event_date=*/{name}"))


def _bucket_keys(bucket: Path) -> list[str]:
    return sorted(set(pq.read_table(bucket).column("_source_key").to_pylist()))


def test_landed_data_lost_behind_the_ledger_is_staged_again(
    dataset: Path, tmp_path: Path
) -> None:
    target = Target("landing", dataset, tmp_path / "state")
    stage_in_process(target)
    assert_reconciled(target, when="after the first landing")
    verified = target.landing / "verified"
    log_key, song_key = log_keys(dataset)[5], song_keys(dataset)[200]

    (landed_log,) = _log_files(target, log_key)
    shutil.rmtree(landed_log.parent)  # the day's folder is lost, with its one file
    bucket = verified / "song_data" / song_bucket(song_key)
    in_bucket = _bucket_keys(bucket)
    rows = pq.read_table(bucket)
    kept = rows.filter(pc.not_equal(rows.column("_source_key"), song_key))
    assert kept.num_rows == rows.num_rows - 1
    pq.write_table(kept, bucket)
    damage = reconciliation_problems(target)
    damaged = {problem.split(":")[0] for problem in damage if problem.startswith(
        ("log_data/", "song_data/"))}
    assert damaged == {log_key, song_key}, damage

    options = StageOptions(batch_objects=BATCH, wait=False)
    _songs, _logs, report = land(str(dataset), StatePaths(target.state), options)
    # file level: the damaged bucket goes whole, and every song it held is staged again
    assert {table: [obj.key for obj in plan.process] for table, plan in report.plans.items()} == {
        "song_data": in_bucket, "log_data": [log_key]}
    assert song_key in in_bucket
    assert_reconciled(target, when="after the repair")
    _songs, _logs, again = land(str(dataset), StatePaths(target.state), options)
    assert not again.changed


def test_a_landed_log_that_lost_rows_is_staged_again(dataset: Path, tmp_path: Path) -> None:
    target = Target("landing", dataset, tmp_path / "state")
    stage_in_process(target)
    log_key = log_keys(dataset)[4]
    (landed,) = _log_files(target, log_key)
    rows = pq.read_table(landed)
    pq.write_table(rows.slice(0, rows.num_rows - 1), landed)

    options = StageOptions(batch_objects=BATCH, wait=False)
    _songs, _logs, report = land(str(dataset), StatePaths(target.state), options)
    assert [obj.key for obj in report.plans["log_data"].process] == [log_key], (
        "a landed log file that lost a row was not staged again")
    assert_reconciled(target, when="after the repair")


def test_a_torn_song_bucket_is_dropped_and_its_songs_staged_again(
    dataset: Path, tmp_path: Path
) -> None:
    target = Target("landing", dataset, tmp_path / "state")
    stage_in_process(target)
    (bucket,) = (target.landing / "verified" / "song_data").glob("*.parquet")
    in_bucket = _bucket_keys(bucket)
    data = bucket.read_bytes()
    bucket.write_bytes(data[:-40])  # cut off: the footer is gone
    assert any("not a readable" in problem for problem in reconciliation_problems(target))

    options = StageOptions(batch_objects=BATCH, wait=False)
    _songs, _logs, report = land(str(dataset), StatePaths(target.state), options)
    assert [obj.key for obj in report.plans["song_data"].process] == in_bucket, (
        "the songs of the torn bucket were not staged again")
    assert_reconciled(target, when="after the repair")


def test_files_the_ledger_does_not_claim_are_removed(dataset: Path, tmp_path: Path) -> None:
    """A crash between a file's rename and the ledger's commit leaves it unclaimed."""
    target = Target("landing", dataset, tmp_path / "state")
    stage_in_process(target)
    before = snapshot(target)
    log_key = log_keys(dataset)[2]
    (landed,) = _log_files(target, log_key)
    stray_day = landed.parent.parent / "event_date=2030-01-01"
    stray_day.mkdir()
    shutil.copy(landed, stray_day / landed.name)  # rows of an object on a day it has none
    shutil.copy(landed, landed.parent / ".half-written.parquet.tmp")
    shutil.copy(landed, landed.parent / "unknown-object.parquet")
    assert reconciliation_problems(target)

    options = StageOptions(batch_objects=BATCH, wait=False)
    _songs, _logs, report = land(str(dataset), StatePaths(target.state), options)
    assert not report.changed, "nothing was lacking: nothing is staged again"
    assert not stray_day.exists(), "the emptied day folder is removed too"
    assert_reconciled(target, when="after the repair")
    assert not snapshot_changes(before, snapshot(target))
