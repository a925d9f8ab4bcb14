"""Raw data locations: a local folder or an S3 prefix, listed and read the same way."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from ingest.errors import IngestError

RAW_FOLDERS = ("song_data", "log_data")


@dataclass(frozen=True)
class RawObject:
    """One raw file: its key below the source root, its size and a change fingerprint."""

    key: str
    size: int
    fingerprint: str


class RawSource(Protocol):
    uri: str

    def list_objects(self, folder: str) -> Iterator[RawObject]: ...

    def read(self, key: str) -> bytes: ...


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

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


class LocalSource:
    """A folder on this machine with song_data/ and log_data/ below it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.uri = str(self.root)
        if not self.root.is_dir():
            raise IngestError(f"source folder not found: {self.root}")

    def list_objects(self, folder: str) -> Iterator[RawObject]:
        base = self.root / folder
        if not base.is_dir():
            return
        for dirpath, _dirnames, filenames in os.walk(base):
            for name in sorted(filenames):
                if not name.endswith(".json"):
                    continue
                path = Path(dirpath) / name
                stat = path.stat()
                key = path.relative_to(self.root).as_posix()
                yield RawObject(key, stat.st_size, f"{stat.st_size}-{stat.st_mtime_ns}")

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def path(self, key: str) -> Path:
        return self.root / key


class S3Source:
    """An S3 prefix; credentials, region and endpoint come from the standard AWS chain."""

    def __init__(self, uri: str, client: Any | None = None) -> None:
        self.location = S3Location.parse(uri)
        self.uri = self.location.uri
        self.client = client or s3_client()
        check_bucket(self.client, self.location.bucket)

    def list_objects(self, folder: str) -> Iterator[RawObject]:
        prefix = self.location.key(folder) + "/"
        strip = len(self.location.key(""))
        paginator = self.client.get_paginator("list_objects_v2")
        with aws_errors(f"listing {self.location.uri}/{folder}"):
            for page in paginator.paginate(Bucket=self.location.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    key: str = item["Key"]
                    if key.endswith(".json"):
                        etag = str(item["ETag"]).strip('"')
                        yield RawObject(key[strip:], int(item["Size"]), etag)

    def read(self, key: str) -> bytes:
        with aws_errors(f"reading {self.location.uri}/{key}"):
            response = self.client.get_object(
                Bucket=self.location.bucket, Key=self.location.key(key)
            )
            body: bytes = response["Body"].read()
        return body


def s3_client() -> Any:
    """A boto3 S3 client; honours AWS_ENDPOINT_URL(_S3), AWS_PROFILE, AWS_REGION."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
    )
    return boto3.session.Session().client("s3", config=config)


def check_bucket(client: Any, bucket: str) -> None:
    with aws_errors(f"opening bucket {bucket!r}"):
        client.head_bucket(Bucket=bucket)


@contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Turn botocore failures into one-line IngestErrors that say what to check."""
    try:
        yield
    except Exception as exc:
        message = describe_aws_error(exc)
        if message is None:
            raise
        raise IngestError(f"{doing}: {message}") from exc


def describe_aws_error(exc: BaseException) -> str | None:
    from botocore import exceptions as bx

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    where = f" at {endpoint}" if endpoint else ""
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/SECRET)"
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return f"cannot reach the S3 endpoint{where} ({exc})"
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in {"404", "NoSuchBucket"}:
            return "the bucket does not exist (check the name and AWS_REGION)"
        if code in {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            return f"access denied{where}: check the AWS credentials and their permissions"
        if code in {"NoSuchKey"}:
            return "the object does not exist"
        return f"{code or 'error'}: {error.get('Message', exc)}"
    if isinstance(exc, bx.BotoCoreError):
        return str(exc)
    return None


def open_source(uri: str) -> LocalSource | S3Source:
    """A source from `s3://bucket/prefix` or a local folder path."""
    if uri.startswith("s3://"):
        return S3Source(uri)
    if "://" in uri:
        raise IngestError(f"unsupported source {uri!r}: use a local folder or s3://bucket/prefix")
    return LocalSource(Path(uri))


def require_raw_layout(source: RawSource,
                       staged: Collection[str] = ()) -> dict[str, list[RawObject]]:
    """List both raw folders; fail clearly when either is empty and was never `staged`.

    (A folder emptied by `--archive --delete-archived` is fine: its objects were staged.)
    """
    listing = {folder: sorted(source.list_objects(folder), key=lambda o: o.key)
               for folder in RAW_FOLDERS}
    missing = [folder for folder, objects in listing.items()
               if not objects and folder not in staged]
    if missing:
        raise IngestError(
            f"{source.uri} has no JSON files under {' and '.join(f + '/' for f in missing)}: "
            "expected the Sparkify layout song_data/A/B/C/TR….json and "
            "log_data/YYYY/MM/YYYY-MM-DD-events.json"
        )
    return listing


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
