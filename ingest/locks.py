"""Exclusive file locks: one stage per (source, raw schema, target), one scheduled cycle.

`flock` locks belong to an open file description, so the kernel releases them when the
process dies, kill -9 included: a crashed stage never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ingest.errors import IngestError

log = logging.getLogger(__name__)


class Busy(IngestError):
    """Someone else holds the lock and the caller asked not to wait."""


def lock_path(folder: Path, kind: str, *identity: str) -> Path:
    """A lock file in `folder` named by `kind` and a digest of `identity`."""
    digest = hashlib.sha256("\0".join(identity).encode("utf-8", "surrogateescape"))
    return folder / f"{kind}-{digest.hexdigest()[:16]}.lock"


def holder(path: Path) -> str:
    """What the lock file says about its holder (the pid and what it does)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return "another process"
    return text or "another process"


@contextmanager
def try_lock(path: Path, what: str) -> Iterator[bool]:
    """Hold an exclusive lock on `path` if nobody else does; yield whether we got it."""
    with _lock_file(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        with _held(handle, what):
            yield True


@contextmanager
def exclusive(path: Path, what: str, *, wait: bool) -> Iterator[None]:
    """Hold the lock on `path` for `what`; wait for it, or raise Busy at once."""
    with _lock_file(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = holder(path)
            if not wait:
                raise Busy(f"{what} is already running ({who}; lock {path}): "
                           "try again later, or pass --wait to wait for it") from None
            log.info("waiting for %s to finish (%s; lock %s)", what, who, path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        with _held(handle, what):
            yield


@contextmanager
def _lock_file(path: Path) -> Iterator[TextIO]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+", encoding="utf-8")
    except OSError as exc:
        raise IngestError(f"cannot create the lock file {path}: {exc.strerror}; check that "
                          "the state folder is writable (or set SPARKIFY_STATE_DIR)") from exc
    with handle:
        yield handle


@contextmanager
def _held(handle: TextIO, what: str) -> Iterator[None]:
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}: {what}\n")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
