"""The landing's files on disk: written, renamed and removed durably, and listed.

A file is written to a temporary name, fsynced and renamed over its place, and its folder
fsynced, so a crash leaves either the old file or the new one (and maybe a temporary file,
which `landed_paths` removes). ingest.stage.landing.sink says when each is called.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.stage.landing.format import PARTITION_COLUMN

log = logging.getLogger(__name__)
TABLES = ("song_data", "log_data")


def landed_days(verified: Path) -> list[str]:
    """The partition folders of the log table that hold at least one landed file."""
    root = verified / "log_data"
    if not root.is_dir():
        return []
    return sorted(folder.name for folder in root.iterdir()
                  if folder.is_dir() and folder.name.startswith(f"{PARTITION_COLUMN}=")
                  and any(path.suffix == ".parquet" and not path.name.startswith(".")
                          for path in folder.iterdir()))


def write_durably(path: Path, rows: pa.Table) -> None:
    """Write `rows` as parquet to a temporary name, fsync, rename over `path`, fsync the
    folder (and its parent, when the folder is new)."""
    new_folder = not path.parent.is_dir()
    path.parent.mkdir(parents=True, exist_ok=True)
    if new_folder:
        _fsync_folder(path.parent.parent)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as out:
            pq.write_table(rows, out, compression="snappy")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def unlink_durably(path: Path) -> None:
    """Remove a file (and its partition folder, once empty)."""
    if path.exists():
        path.unlink()
        _fsync_folder(path.parent)
    folder = path.parent
    if folder.name.startswith(f"{PARTITION_COLUMN}=") and folder.is_dir() and not any(
            folder.iterdir()):
        folder.rmdir()
        _fsync_folder(folder.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def landed_paths(verified: Path) -> Iterator[str]:
    """Every landed file (relative to `verified`); leftover temporary files are removed."""
    for table in TABLES:
        root = verified / table
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                log.info("repair: removing %s, a write a crash cut short", path)
                unlink_durably(path)
                continue
            yield path.relative_to(verified).as_posix()
        for folder in sorted(root.glob(f"{PARTITION_COLUMN}=*")):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None
