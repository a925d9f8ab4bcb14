"""Exclusive file locks: one stage per (source, raw schema, target), one scheduled cycle,
one embedded Spark per state folder (its Derby metastore admits one JVM).

`flock` locks belong to an open file description, so the kernel releases them when the
process dies, kill -9 included: a crashed stage never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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
def exclusive(path: Path, what: str, *, wait: bool,
              timeout: float | None = None) -> Iterator[None]:
    """Hold the lock on `path` for `what`; wait for it (at most `timeout` seconds, when
    given), or raise Busy at once."""
    with _lock_file(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = holder(path)
            if not wait:
                raise Busy(f"{what} is already running ({who}; lock {path}): "
                           "try again later, or pass --wait to wait for it") from None
            if timeout is None:
                log.info("waiting for %s to finish (%s; lock %s)", what, who, path)
                fcntl.flock(handle, fcntl.LOCK_EX)
            else:
                log.info("waiting for %s to finish, at most %g s (lock %s)", who, timeout,
                         path)
                _wait_for(handle, path, what, timeout)
        with _held(handle, what):
            yield


def _wait_for(handle: TextIO, path: Path, what: str, timeout: float) -> None:
    """Take the lock within `timeout` seconds, or raise Busy naming who still holds it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Busy(f"{what}: {holder(path)} still holds {path} after {timeout:g} s "
                           "of waiting: nothing was done; try again once it ends") from None
            time.sleep(min(0.5, left))


# Locks this process holds until it exits (the kernel releases them then, kill -9 included).
_HELD_FOR_LIFE: dict[Path, ExitStack] = {}


def hold_until_exit(path: Path, what: str, *, timeout: float) -> None:
    """Take the lock on `path` for the rest of this process (waiting at most `timeout`
    seconds for another holder); a second call for the same path does nothing."""
    if path in _HELD_FOR_LIFE:
        return
    stack = ExitStack()
    stack.enter_context(exclusive(path, what, wait=True, timeout=timeout))
    _HELD_FOR_LIFE[path] = stack


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
