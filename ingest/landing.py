"""The verified landing area the local Spark tables read: a sink of the staging core.

For each source, `<state>/landing/<source>/` holds:

- `ledger.sqlite`: the ledger of raw objects and the quarantined lines (ingest.ledger);
- `verified/log_data/<key>`: one newline-delimited JSON file per daily log, its good lines
  only, each record tagged with `_source_key` and `_ingested_at`;
- `verified/song_data/<bucket>.json`: the one-song files gathered by the first letter of
  their folder (`song_data/A/…` → `A.json`), so Spark opens a few dozen files instead of
  ~15,000, and a new song rewrites only its bucket.

Durable before recorded: each batch's files are written to a temporary name, fsynced and
renamed (and their folder fsynced) before the ledger transaction that claims them commits;
that transaction also records each file's size (`_landed_files`). A crash in between leaves
files the ledger does not claim; a lost, cut or edited file leaves a claim without data.
`repair`, run before every stage, settles both against the ledger at the cost of one stat
per file: a file whose size is not the recorded one is read, its unclaimed or torn lines
dropped, and claims without their rows forgotten (so those objects are staged again).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from ingest.errors import IngestError
from ingest.ledger import HAS_ROWS, LedgerEntry, LedgerStore, Processed
from ingest.raw_format import SOURCE_KEY
from ingest.stage_core import Ledger, Rendered, json_lines
from ingest.warehouse import transaction

log = logging.getLogger(__name__)
LEDGER_FILE = "ledger.sqlite"
LANDED_FILES = "_landed_files"


def open_ledger(path: Path) -> sqlite3.Connection:
    """The landing's SQLite ledger, created when missing."""
    with state_errors(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30)
        with transaction(connection) as cursor:
            for statement in LedgerStore("sqlite").ddl():
                cursor.execute(statement)
            cursor.execute(f'create table if not exists "{LANDED_FILES}" (\n'
                           "    path text primary key,\n"
                           "    size_bytes integer not null\n)")
    return connection


@contextmanager
def state_errors(where: Path) -> Iterator[None]:
    """Turn a full disk or a read-only state folder into one clear line."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise IngestError(
            f"cannot write the landing in {where}: {reason}. Nothing of the unfinished batch "
            "was recorded; make the state folder writable (or set SPARKIFY_STATE_DIR) and "
            "free some space, then run the stage again") from exc


def landing_path(root: Path, key: str) -> Path:
    """Where one object's verified lines go: its key, ending in `.json` for Spark's glob."""
    name = key if key.endswith(".json") else f"{key}.json"
    return root / name


class LandingSink:
    """Verified JSON files for the Spark tables, and their ledger in SQLite."""

    @staticmethod
    def render(table: str, item: Processed) -> list[str]:
        return json_lines(table, item)

    def __init__(self, landing: Path) -> None:
        self.landing = landing
        self.verified = landing / "verified"
        self.name = f"the Spark landing {landing}"
        self.store = LedgerStore("sqlite")
        self._connection: sqlite3.Connection | None = None

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = open_ledger(self.landing / LEDGER_FILE)
        return self._connection

    def prepare(self) -> None:
        """Open (and create) the ledger: under the stage lock, like every write."""
        _ = self.connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def read_ledger(self) -> Ledger:
        with transaction(self.connection) as cursor:
            return self.store.read(cursor)

    def repair(self, ledger: Ledger) -> Ledger:
        """Settle the files against the ledger; the ledger as the files back it."""
        sizes = self._recorded_sizes()
        with state_errors(self.landing):
            check = _Repair(self.verified, ledger, sizes)
            check.logs()
            check.songs()
            (self.verified / "log_data").mkdir(parents=True, exist_ok=True)
            (self.verified / "song_data").mkdir(parents=True, exist_ok=True)
        lacking = check.lacking
        if lacking:
            log.warning("repair: %d objects the ledger holds have no landed rows (e.g. %s): "
                        "they are staged again", len(lacking), lacking[0][1])
        with transaction(self.connection) as cursor:
            for table in sorted({table for table, _key in lacking}):
                self.store.forget(cursor, table,
                                  [key for name, key in lacking if name == table])
            self._record_sizes(cursor, check.sizes)
        return {pair: entry for pair, entry in ledger.items() if pair not in set(lacking)}

    def commit(self, table: str, batch: Sequence[Rendered], removed: Sequence[str]) -> None:
        """Make the batch's files durable, then record them and the batch in the ledger."""
        with state_errors(self.landing):
            if table == "song_data":
                replaced = {item.entry.key for item, _lines in batch} | set(removed)
                added: dict[str, list[str]] = {}
                for item, lines in batch:
                    added.setdefault(song_bucket(item.entry.key), []).extend(lines or [])
                touched = rewrite_buckets(self.verified, replaced, added)
            else:
                touched = []
                for item, lines in batch:
                    path = landing_path(self.verified, item.entry.key)
                    if lines is None:
                        _unlink_durably(path)  # a pending object has no rows, not old ones
                    else:
                        write_durably(path, lines)
                    touched.append(path)
                for key in removed:
                    _unlink_durably(landing_path(self.verified, key))
                    touched.append(landing_path(self.verified, key))
            sizes = {self._relative(path): _size(path) for path in touched}
            with transaction(self.connection) as cursor:
                self.store.forget(cursor, table, removed)
                self.store.write(cursor, [item for item, _lines in batch], _now())
                self._record_sizes(cursor, sizes)

    def mark_archived(self, table: str, keys: Sequence[str]) -> None:
        with transaction(self.connection) as cursor:
            self.store.mark_archived(cursor, table, keys, _now())

    def row_counts(self) -> dict[str, int]:
        with transaction(self.connection) as cursor:
            cursor.execute("select table_name, coalesce(sum(rows_loaded), 0) from "
                           '"_loaded_objects" group by table_name')
            rows = {str(name): int(total) for name, total in cursor.fetchall()}
        return {"song_data": rows.get("song_data", 0), "log_data": rows.get("log_data", 0)}

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.verified).as_posix()

    def _recorded_sizes(self) -> dict[str, int]:
        with transaction(self.connection) as cursor:
            cursor.execute(f'select path, size_bytes from "{LANDED_FILES}"')
            return {str(path): int(size) for path, size in cursor.fetchall()}

    @staticmethod
    def _record_sizes(cursor: Any, sizes: dict[str, int | None]) -> None:
        gone = [(path,) for path, size in sizes.items() if size is None]
        cursor.executemany(f'delete from "{LANDED_FILES}" where path = ?', gone)
        cursor.executemany(f'insert or replace into "{LANDED_FILES}" (path, size_bytes) '
                           "values (?, ?)",
                           [(path, size) for path, size in sizes.items() if size is not None])


class _Repair:
    """One repair pass: what the files lack (`lacking`) and their sizes now (`sizes`)."""

    def __init__(self, verified: Path, ledger: Ledger, recorded: dict[str, int]) -> None:
        self.verified = verified
        self.ledger = ledger
        self.recorded = recorded
        self.lacking: list[tuple[str, str]] = []
        self.sizes: dict[str, int | None] = {}

    def claimed(self, table: str) -> dict[str, int]:
        return {key: entry.rows_loaded or 0 for (name, key), entry in self.ledger.items()
                if name == table and entry.status in HAS_ROWS}

    def logs(self) -> None:
        claimed = {landing_path(self.verified, key): (key, rows)
                   for key, rows in self.claimed("log_data").items()}
        for path in _files(self.verified / "log_data"):
            if path not in claimed:
                log.info("repair: removing %s, which no ledger entry claims", path)
                _unlink_durably(path)
                self.sizes[self._relative(path)] = None
        for path, (key, rows) in claimed.items():
            relative = self._relative(path)
            size = _size(path)
            if size is not None and size == self.recorded.get(relative):
                continue
            if size is not None and relative not in self.recorded and _line_count(path) == rows:
                self.sizes[relative] = size  # landed before sizes were recorded, and whole
                continue
            log.warning("repair: %s is missing or was changed since it landed", path)
            _unlink_durably(path)
            self.sizes[relative] = None
            self.lacking.append(("log_data", key))

    def songs(self) -> None:
        claimed = self.claimed("song_data")
        root = self.verified / "song_data"
        buckets = ({root / f"{name}.json" for name in {song_bucket(key) for key in claimed}}
                   | set(_files(root))
                   | {self.verified / path for path in self.recorded
                      if path.startswith("song_data/")})
        for path in sorted(buckets):
            size = _size(path)
            if size is not None and size == self.recorded.get(self._relative(path)):
                continue
            self._settle_bucket(path, claimed)

    def _settle_bucket(self, path: Path, claimed: dict[str, int]) -> None:
        """Keep the lines of claimed songs whose rows are all there; the rest go."""
        lines = [(line, _key_of(line)) for line in _read_lines(path)]
        counts: dict[str | None, int] = {}
        for _line, key in lines:
            counts[key] = counts.get(key, 0) + 1
        mine = {key for key in claimed
                if f"{song_bucket(key)}.json" == path.name}
        damaged = {key for key in mine if counts.get(key, 0) != claimed[key]}
        kept = [line for line, key in lines if key in mine and key not in damaged]
        if len(kept) != len(lines):
            log.warning("repair: %s held %d lines no whole ledger entry claims: dropped",
                        path, len(lines) - len(kept))
        if kept:
            write_durably(path, kept)
        else:
            _unlink_durably(path)
        self.sizes[self._relative(path)] = _size(path)
        self.lacking += [("song_data", key) for key in sorted(damaged)]

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.verified).as_posix()


def rewrite_buckets(verified: Path, replaced: set[str],
                    added: dict[str, list[str]]) -> list[Path]:
    """Rewrite each song bucket touched: lines of `replaced` keys out, `added` lines in."""
    root = verified / "song_data"
    touched = []
    for bucket in sorted({song_bucket(key) for key in replaced} | set(added)):
        path = root / f"{bucket}.json"
        kept = [line for line in _read_lines(path) if _key_of(line) not in replaced]
        new = added.get(bucket, [])
        if kept or new:
            write_durably(path, [*kept, *new])
        else:
            _unlink_durably(path)
        touched.append(path)
    return touched


def song_bucket(key: str) -> str:
    """The bucket file of a song: the first letter folder (`song_data/A/…` → `A`)."""
    parts = key.split("/")
    return parts[1] if len(parts) > 2 and parts[1].isalnum() else "_other"


def write_durably(path: Path, lines: Iterable[str]) -> None:
    """Write `lines` to a temporary name, fsync, rename over `path`, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as out:
            for line in lines:
                out.write(line)
                out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _unlink_durably(path: Path) -> None:
    if path.exists():
        path.unlink()
        _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _files(root: Path) -> Iterator[Path]:
    """Every landed file below `root`; leftover temporary files are removed."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            path.unlink()
            continue
        yield path


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")  # a torn file: its lines go
    return [line for line in text.split("\n") if line]


_KEY_FIELD = f'"{SOURCE_KEY}": '
_DECODE_STRING = json.JSONDecoder().raw_decode


def _key_of(line: str) -> str | None:
    """The object a landed line came from; None for a torn or foreign line.

    Landed lines end with `"_source_key": "…", "_ingested_at": "…"}` (json_lines), so the
    key is decoded where it stands, without parsing the whole record.
    """
    at = line.rfind(_KEY_FIELD)
    if at >= 0 and line.endswith("}"):
        try:
            key, _end = _DECODE_STRING(line, at + len(_KEY_FIELD))
        except ValueError:
            key = None
        if isinstance(key, str):
            return key
    try:
        record = json.loads(line)
    except ValueError:
        return None
    key = record.get(SOURCE_KEY) if isinstance(record, dict) else None
    return key if isinstance(key, str) else None


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _line_count(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def ledger_entries(landing: Path) -> tuple[list[LedgerEntry], list[tuple[Any, ...]]]:
    """The ledger and quarantine of one landing folder, for `python -m ingest status`."""
    store = LedgerStore("sqlite")
    with (closing(open_ledger(landing / LEDGER_FILE)) as connection,
          transaction(connection) as cursor):
        entries = list(store.read(cursor).values())
        quarantined = store.quarantined(cursor)
    return entries, quarantined
