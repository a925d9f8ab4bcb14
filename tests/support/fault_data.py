"""Helpers for the staging fault tests: targets, stage processes, and the reconciliation.

The reconciliation compares three things for every object of a raw source: the raw file,
the sink's ledger entry, and the rows the sink holds for it (tagged with `_source_key`).
Rows are compared as multisets of an identity per row, so a row loaded twice, a stale row
or a missing one all show, not only a wrong count.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.ledger.store import HAS_ROWS, LedgerEntry, LedgerStore
from ingest.paths import StatePaths
from ingest.stage.landing.format import PARTITION_COLUMN, event_date, log_file_name, song_bucket
from ingest.stage.landing.ledger import ledger_entries
from tests.support.project import PROJECT_DIR, postgres_connect
from tests.support.staging import landing_of

Ledger = dict[tuple[str, str], LedgerEntry]
Rows = dict[str, Counter[tuple[Any, ...]]]
# What identifies a row of each table (in raw JSON field names); the generator writes exact
# duplicate lines on purpose, so rows are compared as multisets, never as sets.
IDENTITY = {
    "log_data": ("ts", "userId", "sessionId", "itemInSession", "page"),
    "song_data": ("song_id", "title"),
}
BLANK = b" \t\r"

# Lands a local source with the Spark landing's core, without a JVM (stage_spark's own first
# step). Prints what the stage did as JSON; `-c` code is not re-run by spawned workers.
LANDING_DRIVER = """
import json, logging, sys
from pathlib import Path
from ingest.paths import StatePaths
from ingest.stage.core import StageOptions
from tests.support.staging import land

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s")
    source, state, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    _songs, _logs, report = land(source, StatePaths(Path(state)),
                                          StageOptions(batch_objects=batch))
    print(json.dumps({"changed": report.changed,
                      "processed": {table: [obj.key for obj in plan.process]
                                    for table, plan in report.plans.items()},
                      "rows": report.rows}))
"""


# --- the raw source ---------------------------------------------------------------------

@dataclass(frozen=True)
class RawRows:
    lines: int  # non-blank lines
    rows: Counter[tuple[Any, ...]]  # the identity of each line that parses as an object


def table_of(key: str) -> str:
    return key.split("/", 1)[0]


def identity(table: str, record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(record.get(name) for name in IDENTITY[table])


_RAW_CACHE: dict[tuple[str, int, int, int], RawRows] = {}


def raw_objects(source: Path) -> dict[str, RawRows]:
    """Every raw object of a local source, by key: its non-blank lines and their identities."""
    objects = {}
    for folder in ("song_data", "log_data"):
        for path in sorted((source / folder).rglob("*.json")):
            stat = path.stat()
            known = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
            if known not in _RAW_CACHE:
                _RAW_CACHE[known] = _raw_rows(folder, path)
            objects[path.relative_to(source).as_posix()] = _RAW_CACHE[known]
    return objects


def _raw_rows(table: str, path: Path) -> RawRows:
    lines = non_blank_lines(path)
    rows: Counter[tuple[Any, ...]] = Counter()
    for line in lines:
        with suppress(ValueError):
            rows[identity(table, json.loads(line))] += 1
    return RawRows(len(lines), rows)


def log_keys(source: Path) -> list[str]:
    return sorted(path.relative_to(source).as_posix()
                  for path in (source / "log_data").rglob("*.json"))


def song_keys(source: Path) -> list[str]:
    return sorted(path.relative_to(source).as_posix()
                  for path in (source / "song_data").rglob("*.json"))


def non_blank_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line.strip(BLANK)]


def rewrite_log(path: Path, variant: int) -> int:
    """Give a daily log new content (still valid) with another line count; return it.

    Even variants drop lines from the end, odd ones repeat some lines at the end (the events
    stay within the file's day, so every line still meets the contract).
    """
    lines = non_blank_lines(path)
    if variant % 2 == 0:
        lines = lines[:-(37 * (variant // 2 + 1))]
    else:
        lines = lines + lines[: 11 * (variant // 2 + 1)]
    path.write_bytes(b"\n".join(lines))
    return len(lines)


# --- the sinks ------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One source staged into one sink: a Postgres raw schema, or a Spark landing folder."""

    kind: str  # "postgres" or "landing"
    source: Path
    state: Path
    database: str = ""
    schema: str = "sparkify_raw"

    @property
    def landing(self) -> Path:
        return landing_of(StatePaths(self.state), str(self.source))

    @property
    def locks(self) -> Path:
        return StatePaths(self.state).locks

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("SPARKIFY_") or key.startswith("SPARKIFY_PG_")}
        env["SPARKIFY_STATE_DIR"] = str(self.state)
        env["PYTHONUNBUFFERED"] = "1"
        if self.database:
            env["SPARKIFY_PG_DATABASE"] = self.database
        return env

    def stage_command(self, batch_objects: int, *extra: str) -> list[str]:
        """A full stage: the CLI for Postgres, the landing driver (no JVM) for the landing."""
        if self.kind == "postgres":
            return self.cli_command("--batch-objects", str(batch_objects), *extra)
        assert not extra, "the landing driver takes no options"
        return [sys.executable, "-c", LANDING_DRIVER, str(self.source), str(self.state),
                str(batch_objects)]

    def cli_command(self, *extra: str) -> list[str]:
        """`python -m ingest stage` for this target; `--target spark` for the landing, used
        only where the stage stops before Spark would start (a busy lock, a bad source)."""
        if self.kind == "postgres":
            where = ["--target", "postgres", "--raw-schema", self.schema]
        else:
            where = ["--target", "spark", "--location", "local"]
        return [sys.executable, "-m", "ingest", "stage", *where, "--source", str(self.source),
                *extra]

    def ledger(self) -> Ledger:
        if self.kind == "landing":
            if not (self.landing / "ledger.sqlite").exists():
                return {}
            entries, _quarantined = ledger_entries(self.landing)
            return {(entry.table, entry.key): entry for entry in entries}
        connection = postgres_connect(self.database)
        try:
            with connection.cursor() as cursor:
                cursor.execute("select to_regclass(%s)", (f'"{self.schema}"._loaded_objects',))
                if cursor.fetchone()[0] is None:
                    return {}
                return LedgerStore("postgres", self.schema).read(cursor)
        finally:
            connection.close()

    def rows(self, *, stamped: bool = False) -> Rows:
        """The rows the sink holds, by `_source_key` (with `_ingested_at` when `stamped`)."""
        return self._landing_rows(stamped) if self.kind == "landing" else (
            self._postgres_rows(stamped))

    def _postgres_rows(self, stamped: bool) -> Rows:
        rows: Rows = {}
        connection = postgres_connect(self.database)
        try:
            with connection.cursor() as cursor:
                for table, names in IDENTITY.items():
                    cursor.execute("select to_regclass(%s)", (f'"{self.schema}".{table}',))
                    if cursor.fetchone()[0] is None:
                        continue
                    columns = [name.lower() for name in names]
                    if stamped:
                        columns.append("_ingested_at")
                    cursor.execute(f"select _source_key, {', '.join(columns)} "
                                   f'from "{self.schema}".{table}')
                    for key, *values in cursor.fetchall():
                        rows.setdefault(key, Counter())[tuple(values)] += 1
        finally:
            connection.close()
        return rows

    def _landing_rows(self, stamped: bool) -> Rows:
        rows: Rows = {}
        for table, path in self.landed_files():
            landed = landed_table(path)
            if landed is None:
                continue  # layout_problems names it
            for record in landed.to_pylist():
                values = identity(table, record)
                if stamped:
                    values += (record["_ingested_at"],)
                rows.setdefault(record["_source_key"], Counter())[values] += 1
        return rows

    def landed_files(self, *, hidden: bool = False) -> list[tuple[str, Path]]:
        """The files Spark reads (hidden ones, e.g. a crash's leftover `.X.parquet.tmp`, too
        when `hidden`)."""
        verified = self.landing / "verified"
        return [(table, path) for table in IDENTITY
                for path in sorted((verified / table).rglob("*"))
                if path.is_file() and (hidden or not path.name.startswith("."))]

    def file_stamps(self) -> dict[str, int]:
        """Each landed file's mtime (empty for Postgres): a rewrite shows."""
        return {str(path.relative_to(self.landing)): path.stat().st_mtime_ns
                for _table, path in self.landed_files()} if self.kind == "landing" else {}

    def layout_problems(self, *, leftovers: bool = True) -> list[str]:
        """Landing only: files that are not where their rows belong (another object's
        file, another bucket, another day), unreadable files, empty day folders; leftover
        temporary files (a crash leaves them; the next stage's repair removes them) when
        `leftovers`."""
        if self.kind != "landing":
            return []
        problems = []
        verified = self.landing / "verified"
        for table, path in self.landed_files(hidden=leftovers):
            name = str(path.relative_to(verified))
            landed = None if path.name.startswith(".") else landed_table(path)
            if landed is None or path.suffix != ".parquet":
                problems.append(f"{name}: not a readable landed *.parquet file (a leftover?)")
                continue
            problems += _placement_problems(table, path, name, landed)
        for folder in sorted((verified / "log_data").glob(f"{PARTITION_COLUMN}=*")):
            if folder.is_dir() and not any(folder.iterdir()):
                problems.append(f"{folder.relative_to(verified)}: an empty day folder")
        return problems


def landed_table(path: Path) -> pa.Table | None:
    """A landed parquet file's rows; None when it cannot be read (damaged, not parquet)."""
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError):
        return None


def _placement_problems(table: str, path: Path, name: str, landed: pa.Table) -> list[str]:
    keys = set(landed.column("_source_key").to_pylist())
    if table == "song_data":
        strays = sorted(key for key in keys if song_bucket(key) != path.name)
        return [f"{name} holds songs of other buckets: {strays[:3]}"] if strays else []
    problems = []
    if {log_file_name(key) for key in keys} != {path.name}:
        problems.append(f"{name} holds lines of {sorted(keys)[:3]}")
    day = path.parent.name.removeprefix(f"{PARTITION_COLUMN}=")
    days = {str(event_date(ts)) for ts in landed.column("ts").to_pylist()}
    if days != {day}:
        problems.append(f"{name} holds events of {sorted(days)[:3]}")
    return problems


# --- the reconciliation ---------------------------------------------------------------

def reconciliation_problems(target: Target, *, complete: bool = True,
                            unclaimed_ok: bool = False) -> list[str]:
    """What breaks the invariant, one line each (empty when it holds).

    `complete`: every object of the source has exactly one entry, and it loaded. When not,
    only what the ledger claims is checked (a run that stopped half-way). `unclaimed_ok`:
    rows no ledger entry claims are tolerated (a landing before its repair).
    """
    raw = raw_objects(target.source)
    ledger = target.ledger()
    rows = target.rows()
    problems = target.layout_problems(leftovers=complete)
    for table, key in ledger:
        if table_of(key) != table:
            problems.append(f"ledger entry of {key} is filed under {table}")
    claimed = {key for _table, key in ledger}
    if complete:
        problems += [f"{key}: no ledger entry" for key in sorted(set(raw) - claimed)]
    problems += [f"{key}: ledger entry for an object not in the source"
                 for key in sorted(claimed - set(raw))]
    with_rows = set()
    for (_table, key), entry in sorted(ledger.items()):
        have = rows.get(key, Counter())
        if entry.status not in HAS_ROWS:
            if complete:
                problems.append(f"{key}: {entry.status} ({entry.reason}), expected loaded")
            if have:
                problems.append(f"{key}: {entry.status} but {sum(have.values())} rows held")
            continue
        with_rows.add(key)
        source = raw.get(key)
        loaded, quarantined = entry.rows_loaded or 0, entry.rows_quarantined or 0
        if source is not None and loaded + quarantined != source.lines:
            problems.append(f"{key}: {source.lines} non-blank raw lines, but the ledger says "
                            f"{loaded} loaded + {quarantined} quarantined")
        if sum(have.values()) != loaded:
            problems.append(f"{key}: ledger says {loaded} rows, the sink holds "
                            f"{sum(have.values())}")
        elif source is not None and not quarantined and have != source.rows:
            twice = sum((have - source.rows).values())
            lacking = sum((source.rows - have).values())
            problems.append(f"{key}: rows differ from the raw object ({twice} extra or "
                            f"duplicated, {lacking} missing)")
    unclaimed = sorted(set(rows) - with_rows)
    if unclaimed and not unclaimed_ok:
        problems += [f"{key}: {sum(rows[key].values())} rows no ledger entry claims"
                     for key in unclaimed[:20]]
    if not unclaimed_ok:
        held = sum(sum(counter.values()) for counter in rows.values())
        recorded = sum(entry.rows_loaded or 0 for entry in ledger.values()
                       if entry.status in HAS_ROWS)
        if held != recorded:
            problems.append(f"the sink holds {held} rows, its ledger records {recorded}")
    return problems


def assert_reconciled(target: Target, *, complete: bool = True, unclaimed_ok: bool = False,
                      when: str = "") -> None:
    problems = reconciliation_problems(target, complete=complete, unclaimed_ok=unclaimed_ok)
    shown = "\n  ".join(problems[:25])
    more = f"\n  … and {len(problems) - 25} more" if len(problems) > 25 else ""
    assert not problems, (f"{target.kind}: the invariant breaks {when}: {len(problems)} "
                          f"problems:\n  {shown}{more}")


@dataclass(frozen=True)
class Snapshot:
    """Everything a run could change: the ledger, the rows with their stamps, file mtimes."""

    ledger: Ledger
    rows: Rows
    files: dict[str, int] = field(default_factory=dict)


def snapshot(target: Target) -> Snapshot:
    return Snapshot(target.ledger(), target.rows(stamped=True), target.file_stamps())


def snapshot_changes(before: Snapshot, after: Snapshot) -> list[str]:
    changes = []
    for pair in sorted(set(before.ledger) | set(after.ledger)):
        if before.ledger.get(pair) != after.ledger.get(pair):
            changes.append(f"ledger entry {pair[1]} changed")
    for key in sorted(set(before.rows) | set(after.rows)):
        if before.rows.get(key) != after.rows.get(key):
            changes.append(f"rows of {key} changed")
    for name in sorted(set(before.files) | set(after.files)):
        if before.files.get(name) != after.files.get(name):
            changes.append(f"landed file {name} was rewritten")
    return changes


# --- processes ------------------------------------------------------------------------

@dataclass
class Run:
    """A stage running in its own process group (so its verification workers die with it)."""

    process: subprocess.Popen[bytes]
    out: Path
    err: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def signal_group(self, number: signal.Signals) -> None:
        os.killpg(self.process.pid, number)

    def kill(self) -> None:
        """SIGKILL the stage and its workers, as a crash or an OOM kill would."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def wait(self, timeout: float = 180) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the stage did not end within {timeout} s; stderr:\n"
                                 f"{self.stderr()[-3000:]}") from None

    def describe(self) -> str:
        return f"exit {self.process.returncode}\nstdout:\n{self.stdout()[-2000:]}\nstderr:\n" \
               f"{self.stderr()[-4000:]}"


class Runner:
    """Starts stages with their output in files below `logs`; kills leftovers at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.started: list[Run] = []

    def start(self, command: list[str], env: dict[str, str]) -> Run:
        number = len(self.started)
        out, err = self.logs / f"run{number}.out", self.logs / f"run{number}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(command, env=env, cwd=PROJECT_DIR, stdout=stdout,
                                       stderr=stderr, start_new_session=True)
        run = Run(process, out, err)
        self.started.append(run)
        return run

    def run(self, command: list[str], env: dict[str, str], timeout: float = 180) -> Run:
        run = self.start(command, env)
        run.wait(timeout)
        return run

    def close(self) -> None:
        for run in self.started:
            with suppress(ProcessLookupError):
                if run.process.poll() is None:
                    os.killpg(run.process.pid, signal.SIGCONT)
            run.kill()


@contextmanager
def runner(logs: Path) -> Iterator[Runner]:
    starter = Runner(logs)
    try:
        yield starter
    finally:
        starter.close()


def wait_for(condition: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.01) -> Any:
    """Poll `condition` until it is truthy; its value. AssertionError naming `what` if not."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def lock_held_by(locks: Path, pid: int) -> Path | None:
    """The lock file whose holder line names `pid` (ingest.locks writes `pid N: …`)."""
    if not locks.is_dir():
        return None
    for path in sorted(locks.glob("*.lock")):
        with suppress(OSError):
            if path.read_text(encoding="utf-8").startswith(f"pid {pid}:"):
                return path
    return None


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def landing_report(run: Run) -> dict[str, Any]:
    """What the landing driver printed about its stage."""
    lines = run.stdout().strip().splitlines()
    assert lines, f"the landing driver printed no report: {run.describe()}"
    report: dict[str, Any] = json.loads(lines[-1])
    return report


def processed_keys(target: Target, run: Run) -> dict[str, int]:
    """Objects a finished stage processed, per table (from its report or its log)."""
    if target.kind == "landing":
        return {table: len(keys) for table, keys in landing_report(run)["processed"].items()}
    counts = {}
    for table in IDENTITY:
        marker = f"{table}: "
        for line in run.stderr().splitlines():
            if marker in line and "nothing new" in line:
                counts[table] = 0
            elif marker in line and "objects processed" in line:
                counts[table] = int(line.split(marker, 1)[1].split(" ", 1)[0])
    return counts
