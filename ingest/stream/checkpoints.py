"""Where `deliver` is on each shard: durable checkpoints and the one flush in flight.

One SQLite file per (stream, destination) in the state folder, written with
`synchronous=FULL` (every commit is on disk before it returns). Per shard it holds:

- `sequence`: the last sequence number whose records are in written objects (None: none yet);
- `pending`: the last sequence number of the buffer being written, recorded BEFORE its objects
  are written and cleared (with `sequence` moved to it) only AFTER they all are. A delivery
  that dies in between finds it on restart and rebuilds exactly that buffer (same records,
  same objects, same keys), so nothing is lost and nothing is written twice under new keys;
- `finished`: every record of a closed shard is delivered, so its children may be read.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError

_SCHEMA = """
create table if not exists shards (
    shard_id text primary key,
    sequence text,
    pending text,
    finished integer not null default 0
);
create table if not exists stream (
    name text primary key,
    destination text not null
);
"""


@dataclass(frozen=True)
class ShardCheckpoint:
    """What the store knows of one shard."""

    shard_id: str
    sequence: str | None = None
    pending: str | None = None
    finished: bool = False


class Checkpoints:
    """The checkpoint store of one stream's delivery to one destination."""

    def __init__(self, path: Path, stream: str, destination: str) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # one delivery uses it at a time, maybe on a thread other than its creator
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("pragma synchronous = full")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise IngestError(f"cannot open the delivery checkpoints {path}: {exc}") from exc
        row = self._db.execute("select destination from stream where name = ?",
                               (stream,)).fetchone()
        if row is None:
            self._write("insert into stream (name, destination) values (?, ?)",
                        (stream, destination))
        elif row[0] != destination:
            raise IngestError(f"{path} holds the checkpoints of {stream} into {row[0]}, "
                              f"not {destination}")

    def close(self) -> None:
        self._db.close()

    def all(self) -> dict[str, ShardCheckpoint]:
        """Every shard the store knows, by id."""
        rows = self._db.execute("select shard_id, sequence, pending, finished from shards")
        return {row[0]: ShardCheckpoint(row[0], row[1], row[2], bool(row[3])) for row in rows}

    def get(self, shard_id: str) -> ShardCheckpoint:
        return self.all().get(shard_id, ShardCheckpoint(shard_id))

    def begin_flush(self, shard_id: str, last: str) -> None:
        """Record that the buffer ending at sequence `last` is about to be written."""
        self._write("insert into shards (shard_id, pending) values (?, ?) on conflict "
                    "(shard_id) do update set pending = excluded.pending", (shard_id, last))

    def end_flush(self, shard_id: str, last: str) -> None:
        """The buffer ending at `last` is written: the shard's checkpoint moves to it."""
        self._write("update shards set sequence = ?, pending = null where shard_id = ?",
                    (last, shard_id))

    def finish(self, shard_id: str) -> None:
        """Every record of the closed shard is delivered."""
        self._write("insert into shards (shard_id, finished) values (?, 1) on conflict "
                    "(shard_id) do update set finished = 1", (shard_id,))

    def _write(self, sql: str, params: tuple[str, ...]) -> None:
        try:
            with self._db:
                self._db.execute("begin immediate")
                self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise IngestError(f"cannot write the delivery checkpoints {self.path}: "
                              f"{exc}") from exc
