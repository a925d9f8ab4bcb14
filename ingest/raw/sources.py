"""Raw data locations: a local folder or an S3 prefix, listed and read the same way."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from ingest.aws import S3Endpoint, aws_errors, check_bucket, describe_aws_error, s3_client
from ingest.errors import IngestError
from ingest.safe_text import printable

log = logging.getLogger(__name__)
RAW_FOLDERS = ("song_data", "log_data")
_UNSAFE_KEY = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True)
class RawObject:
    """One raw file: its key below the source root, its size and a change fingerprint.

    `problem` says why the object can never be read as raw data (a key that would escape
    its folder, a name that is not UTF-8, a broken symlink): such an object is recorded as
    rejected with that reason, and never read.
    """

    key: str
    size: int
    fingerprint: str
    problem: str | None = None


@dataclass(frozen=True)
class ReadResult:
    """An object's bytes, or why they could not be read this time (the object stays pending)."""

    body: bytes | None
    reason: str | None = None


class RawSource(Protocol):
    """A raw data location opened for listing and reading."""

    @property
    def location(self) -> SourceLocation: ...

    @property
    def uri(self) -> str: ...

    def list_objects(self, folder: str) -> Iterator[RawObject]: ...

    def read(self, key: str) -> bytes: ...

    def read_listed(self, obj: RawObject) -> ReadResult: ...


def is_json_name(name: str) -> bool:
    """Raw objects are `*.json`, in any case (`*.JSON` too)."""
    return name.lower().endswith(".json")


def key_problem(key: str, folder: str) -> str | None:
    """Why `key` is not a plain relative path below `folder/`, or None when it is.

    Keys are used as paths (the landing, the archive): `..`, `.`, empty segments, a
    leading `/`, backslashes and control characters would escape the folder or alias
    another object, so such objects are refused rather than normalised.
    """
    parts = key.split("/")
    if parts[0] != folder or len(parts) < 2:
        return f"key {printable(key)!r} is not below {folder}/"
    if "" in parts or "." in parts or ".." in parts:
        return (f"key {printable(key)!r} has an empty, '.' or '..' path segment: "
                "it could escape its folder or alias another object")
    if _UNSAFE_KEY.search(key):
        return f"key {printable(key)!r} holds a backslash or a control character"
    return None

@dataclass(frozen=True)
class S3Location:
    """An S3 prefix, parsed from `s3://bucket/prefix` (no trailing slash).

    `endpoint`: the S3 it is on when not the AWS chain's (the generated sample's local S3);
    not part of the location's identity (its `uri`, its equality)."""

    bucket: str
    prefix: str
    endpoint: S3Endpoint | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise IngestError(f"not an S3 URI: {uri!r} (expected s3://bucket/prefix)")
        return cls(parsed.netloc, parsed.path.strip("/"))

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


@dataclass(frozen=True)
class LocalLocation:
    """A folder on this machine, as an absolute path (symlinks resolved)."""

    root: Path

    @classmethod
    def parse(cls, path: str | Path) -> LocalLocation:
        return cls(Path(path).resolve())

    @property
    def uri(self) -> str:
        return str(self.root)


@dataclass(frozen=True)
class StreamLocation:
    """A Kinesis data stream: its micro-batches are staged as objects of their own
    (ingest.stream.batch_objects), never listed."""

    stream: str

    @property
    def uri(self) -> str:
        return f"kinesis://{self.stream}"


# Where raw data lives: parsed once where a stage starts, then passed down as it is. The
# ledger records its `uri` (the same string for the same location, however it was written).
SourceLocation = LocalLocation | S3Location | StreamLocation


def parse_source(source: str) -> SourceLocation:
    """A location from `s3://bucket/prefix` or a local folder path: at the edge, once."""
    if source.startswith("s3://"):
        return S3Location.parse(source)
    if "://" in source:
        raise IngestError(f"unsupported source {source!r}: use a local folder or "
                          "s3://bucket/prefix")
    return LocalLocation.parse(source)


class LocalSource:
    """A folder on this machine with song_data/ and log_data/ below it."""

    def __init__(self, root: Path | LocalLocation) -> None:
        self.location = root if isinstance(root, LocalLocation) else LocalLocation.parse(root)
        if not self.root.is_dir():
            raise IngestError(f"source folder not found: {self.root}")

    @property
    def root(self) -> Path:
        return self.location.root

    @property
    def uri(self) -> str:
        return self.location.uri

    def list_objects(self, folder: str) -> Iterator[RawObject]:
        """Every `*.json` file below `folder` (symlinks to files inside the source followed)."""
        base = self.root / folder
        if not base.is_dir():
            return
        skipped: list[str] = []

        def unreadable(error: OSError) -> None:
            log.warning("cannot list %s (%s): its files are not staged this run",
                        printable(str(error.filename)), error.strerror)

        for dirpath, dirnames, filenames in os.walk(base, onerror=unreadable):
            dirnames.sort()
            for name in dirnames:
                if os.path.islink(os.path.join(dirpath, name)):
                    log.warning("%s is a symlink to a folder: not followed",
                                printable(os.path.join(dirpath, name)))
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if not is_json_name(name):
                    skipped.append(printable(str(path.relative_to(self.root))))
                    continue
                yield self._listed(path)
        if skipped:
            log.info("%s: %d files are not *.json and are not staged (e.g. %s)",
                     folder, len(skipped), ", ".join(skipped[:3]))

    def _listed(self, path: Path) -> RawObject:
        key = path.relative_to(self.root).as_posix()
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            return RawObject(printable(key), 0, "name-not-utf8",
                             "the file name is not valid UTF-8: rename the file")
        problem = key_problem(key, key.split("/")[0]) or self._link_problem(path)
        if problem:
            return RawObject(printable(key), 0, "refused", problem)
        try:
            stat = path.stat()
        except OSError as exc:
            return RawObject(key, 0, "unreadable", f"cannot stat the file: {exc.strerror}")
        return RawObject(key, stat.st_size, fingerprint(stat))

    def _link_problem(self, path: Path) -> str | None:
        if not path.is_symlink():
            return None
        try:
            target = path.resolve(strict=True)
        except FileNotFoundError:
            return "a dangling symlink (its target does not exist)"
        except (RuntimeError, OSError):
            return "a symlink loop"
        if not target.is_relative_to(self.root):
            return "a symlink pointing outside the source folder"
        return None

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def read_listed(self, obj: RawObject) -> ReadResult:
        """The object's bytes, if it is still the object that was listed."""
        path = self.root / obj.key
        try:
            body = path.read_bytes()
            after = fingerprint(path.stat())
        except FileNotFoundError:
            return ReadResult(None, "vanished between listing and reading")
        except OSError as exc:
            return ReadResult(None, f"cannot be read: {exc.strerror}")
        if after != obj.fingerprint:
            return ReadResult(None, "changed while it was being staged (retried next run)")
        return ReadResult(body)

    def path(self, key: str) -> Path:
        return self.root / key


def fingerprint(stat: os.stat_result) -> str:
    """Size, mtime and ctime: a rewrite that restores size and mtime still changes ctime."""
    return f"{stat.st_size}-{stat.st_mtime_ns}-{stat.st_ctime_ns}"


class S3Source:
    """An S3 prefix; credentials, region and endpoint come from the standard AWS chain, or
    from the location's own endpoint."""

    def __init__(self, location: S3Location | str, client: Any | None = None) -> None:
        self.location = (location if isinstance(location, S3Location)
                         else S3Location.parse(location))
        self.client = client or s3_client(self.location.endpoint)
        check_bucket(self.client, self.location.bucket)

    @property
    def uri(self) -> str:
        return self.location.uri

    def list_objects(self, folder: str) -> Iterator[RawObject]:
        prefix = self.location.key(folder) + "/"
        strip = len(self.location.key(""))
        paginator = self.client.get_paginator("list_objects_v2")
        with aws_errors(f"listing {self.location.uri}/{folder}"):
            for page in paginator.paginate(Bucket=self.location.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    key: str = item["Key"][strip:]
                    if not is_json_name(key):
                        continue
                    etag = str(item["ETag"]).strip('"')
                    yield RawObject(key, int(item["Size"]), etag, key_problem(key, folder))

    def read(self, key: str) -> bytes:
        with aws_errors(f"reading {self.location.uri}/{key}"):
            response = self.client.get_object(
                Bucket=self.location.bucket, Key=self.location.key(key)
            )
            body: bytes = response["Body"].read()
        return body

    def read_listed(self, obj: RawObject) -> ReadResult:
        """The object's bytes, if its ETag is still the one listed (else: retried later)."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.location.bucket,
                                              Key=self.location.key(obj.key),
                                              IfMatch=f'"{obj.fingerprint}"')
            return ReadResult(response["Body"].read())
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"NoSuchKey", "404"}:
                return ReadResult(None, "vanished between listing and reading")
            if code in {"PreconditionFailed", "412"}:
                return ReadResult(None, "changed while it was being staged (retried next run)")
            if code in {"AccessDenied", "403"}:
                return ReadResult(None, "access denied to this object")
            raise IngestError(f"reading {self.location.uri}/{obj.key}: "
                              f"{describe_aws_error(exc)}") from exc


def open_source(location: SourceLocation) -> LocalSource | S3Source:
    """The source at `location`, opened: the folder exists, or the bucket answers."""
    if isinstance(location, S3Location):
        return S3Source(location)
    if isinstance(location, StreamLocation):
        raise IngestError(f"{location.uri} is a stream: `python -m ingest stream` reads it")
    return LocalSource(location)


def list_raw(source: RawSource) -> dict[str, list[RawObject]]:
    """Both raw folders, each sorted by key."""
    return {folder: sorted(source.list_objects(folder), key=lambda o: o.key)
            for folder in RAW_FOLDERS}


def require_raw_layout(source: RawSource) -> dict[str, list[RawObject]]:
    """List both raw folders; fail clearly when song_data/, or both, hold no JSON file (a
    source of songs only is one whose events come by the stream or the collector)."""
    listing = list_raw(source)
    missing = [folder for folder, objects in listing.items() if not objects]
    if missing and missing != ["log_data"]:
        raise IngestError(no_files_message(source.uri, missing))
    return listing


def no_files_message(uri: str, folders: list[str]) -> str:
    return (f"{uri} has no JSON files under {' and '.join(f + '/' for f in folders)}: "
            "expected the Sparkify layout song_data/A/B/C/TR….json and "
            "log_data/YYYY/MM/YYYY-MM-DD-events.json")
