"""API keys of the collection API: made and revoked by the CLI, stored hashed.

A key reads `spk_<id>_<secret>`: `id` (8 hex digits) names it in lists and logs, `secret`
(43 URL-safe characters, 256 random bits) is shown once, when it is made, and stored only
as an scrypt digest with its own salt. The store is one JSON file in the state folder
(`<state>/collector/api-keys.json`, mode 0600, never in the repository), rewritten whole
through a temporary file under a lock, so a running collector never reads half of it.

The collector reloads the file when it changes (checked at most once a second), so a key
revoked by `collect-key revoke` is refused within a second. A presented key that checked
out is remembered by a SHA-256 digest of it, so scrypt runs once per key and process, not
once per request.

Wrong secrets are cheap to refuse: a key made since issue 25 also stores `tag`, the first 8
hex digits of the SHA-256 of its secret (32 bits of a hash of 256 random bits: no help to a
guesser), and a presented secret whose tag differs is refused without scrypt. For older keys
scrypt runs at most `SCRYPT_AT_ONCE` at a time, and a wrong key is remembered (a bounded
set) so sending it again costs nothing. A file that cannot be read makes every check raise
IngestError (the collector answers 503) until the file changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from ingest.errors import IngestError
from ingest.locks import exclusive

PREFIX = "spk_"
_KEY = re.compile(r"^spk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
# scrypt's cost: ~16 MiB and some 20-50 ms per check (then the digest is cached)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
RELOAD_SECONDS = 1.0
SCRYPT_AT_ONCE = 2  # scrypt checks in flight at most (each ~16 MiB and some 30-60 ms)
_REMEMBERED_BAD = 10_000


@dataclass(frozen=True)
class ApiKey:
    """One key as stored: never its secret, only the scrypt digest of it."""

    key_id: str
    name: str
    created: str
    salt: str
    digest: str
    revoked: str | None = None
    tag: str | None = None  # sha256(secret)[:8 hex]: refuses a wrong secret without scrypt

    @property
    def active(self) -> bool:
        return self.revoked is None


class Check(Enum):
    """What a presented key is."""

    OK = "ok"
    UNKNOWN = "unknown"  # malformed, no such id, or the wrong secret
    REVOKED = "revoked"


def _digest(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode("ascii"), salt=salt, **_SCRYPT).hex()


def _tag(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()[:8]


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class KeyStore:
    """The key file: create, revoke and list for the CLI; `check` for the server."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: dict[str, ApiKey] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked_at = -RELOAD_SECONDS
        self._good: dict[bytes, str] = {}  # sha256 of a presented key -> its id
        self._locks: dict[str, threading.Lock] = {}
        self._bad: dict[bytes, None] = {}  # sha256 of presented keys that failed (in order)
        self._scrypt = threading.BoundedSemaphore(SCRYPT_AT_ONCE)
        self._problem: str | None = None  # why the file cannot be read now

    # --- the CLI ---------------------------------------------------------------------------

    def create(self, name: str) -> tuple[ApiKey, str]:
        """A new active key named `name`; returns it and the full key text (shown once)."""
        if not _NAME.fullmatch(name):
            raise IngestError(f"key name {name!r}: use 1-64 letters, digits, '_', '.', '@' "
                              "or '-'")
        with self._locked():
            keys = self._read()
            key_id = secrets.token_hex(4)
            while key_id in keys:
                key_id = secrets.token_hex(4)
            secret = secrets.token_urlsafe(32)
            salt = secrets.token_bytes(16)
            key = ApiKey(key_id, name, _now(), salt.hex(), _digest(secret, salt),
                         tag=_tag(secret))
            keys[key_id] = key
            self._write(keys)
        return key, f"{PREFIX}{key_id}_{secret}"

    def revoke(self, which: str) -> list[ApiKey]:
        """Revoke the key with id `which`, or every active key named `which`."""
        with self._locked():
            keys = self._read()
            hits = [key for key in keys.values()
                    if key.active and which in (key.key_id, key.name)]
            if not hits:
                raise IngestError(f"no active API key with id or name {which!r} in "
                                  f"{self.path} (`collect-key list` shows them)")
            stamp = _now()
            for key in hits:
                keys[key.key_id] = ApiKey(**{**asdict(key), "revoked": stamp})
            self._write(keys)
        return hits

    def list(self) -> list[ApiKey]:
        return sorted(self._read().values(), key=lambda key: (key.created, key.key_id))

    # --- the server ------------------------------------------------------------------------

    def cached(self, presented: str) -> Check | None:
        """The verdict without scrypt when there is one: a known good key, a revoked one, a
        malformed one, a secret whose tag differs or that failed before; None when the secret
        must be checked (`verify`). IngestError when the key file cannot be read."""
        self._reload()
        match = _KEY.fullmatch(presented)
        if match is None:
            return Check.UNKNOWN
        key = self._keys.get(match.group(1))
        if key is None:
            return Check.UNKNOWN
        if not key.active:
            return Check.REVOKED
        if key.tag is not None and not hmac.compare_digest(_tag(match.group(2)), key.tag):
            return Check.UNKNOWN
        digest = hashlib.sha256(presented.encode("ascii")).digest()
        if digest in self._bad:
            return Check.UNKNOWN
        return Check.OK if self._good.get(digest) == key.key_id else None

    def verify(self, presented: str) -> Check:
        """The verdict, scrypt included (run it in a worker thread: it takes ~30 ms)."""
        verdict = self.cached(presented)
        if verdict is not None:  # malformed, unknown, revoked or remembered
            return verdict
        match = _KEY.fullmatch(presented)
        assert match is not None
        # one check per key id at a time: the requests of a new client all arrive with the
        # same key at once; the first checks it, the others then find it remembered
        with self._locks.setdefault(match.group(1), threading.Lock()):
            verdict = self.cached(presented)
            if verdict is not None:
                return verdict
            key = self._keys[match.group(1)]
            with self._scrypt:
                computed = _digest(match.group(2), bytes.fromhex(key.salt))
            presented_digest = hashlib.sha256(presented.encode("ascii")).digest()
            if not hmac.compare_digest(computed, key.digest):
                self._bad[presented_digest] = None
                while len(self._bad) > _REMEMBERED_BAD:
                    del self._bad[next(iter(self._bad))]
                return Check.UNKNOWN
            self._good[presented_digest] = key.key_id
            return Check.OK

    def key_id(self, presented: str) -> str:
        """The id part of a well-formed key (for the rate limit and logs)."""
        return presented[len(PREFIX):len(PREFIX) + 8]

    def active_count(self) -> int:
        self._reload(force=True)
        return sum(key.active for key in self._keys.values())

    def _reload(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._checked_at >= RELOAD_SECONDS:
            self._checked_at = now
            self._reload_now()
        if self._problem is not None:
            raise IngestError(self._problem)

    def _reload_now(self) -> None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._keys, self._stamp, self._good, self._problem = {}, None, {}, None
            return
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._keys, self._problem = self._read(), None
        except (IngestError, OSError) as exc:  # damaged, or unreadable (permissions)
            self._keys, self._good = {}, {}
            self._problem = str(exc) if isinstance(exc, IngestError) else \
                f"the API key file {self.path} cannot be read ({exc.strerror or exc})"
            return
        self._good = {digest: key_id for digest, key_id in self._good.items()
                      if key_id in self._keys and self._keys[key_id].active}

    # --- the file --------------------------------------------------------------------------

    def _locked(self) -> AbstractContextManager[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return exclusive(self.path.with_suffix(".lock"), "a change of the API keys",
                         wait=True)

    def _read(self) -> dict[str, ApiKey]:
        try:
            items = json.loads(self.path.read_text(encoding="utf-8"))["keys"]
            return {item["key_id"]: ApiKey(**item) for item in items}
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError) as exc:
            raise IngestError(f"the API key file {self.path} is damaged ({exc}): restore "
                              "it, or delete it and make new keys") from None

    def _write(self, keys: dict[str, ApiKey]) -> None:
        text = json.dumps({"keys": [asdict(key) for key in keys.values()]}, indent=1)
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
