"""Local raw folder → S3 prefix: parallel, idempotent (size + MD5), verified afterwards."""

from __future__ import annotations

import base64
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.aws import aws_errors, check_bucket, s3_client
from ingest.errors import IngestError
from ingest.progress import Progress
from ingest.raw.sources import (
    RAW_FOLDERS,
    LocalSource,
    S3Location,
    require_raw_layout,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadResult:
    uploaded: int
    skipped: int
    bytes_uploaded: int


def upload(src_dir: Path, destination: str, *, workers: int = 16,
           client: Any | None = None) -> UploadResult:
    """Copy every raw JSON file of `src_dir` to `destination`; skip identical objects."""
    source = LocalSource(src_dir)
    target = S3Location.parse(destination)
    s3 = client or s3_client()
    check_bucket(s3, target.bucket)
    local = [obj for objects in require_raw_layout(source).values() for obj in objects]
    remote = _remote_etags(s3, target)
    digests = _local_md5s(source, [obj.key for obj in local], workers)
    todo = [obj for obj in local
            if remote.get(obj.key) != (obj.size, digests[obj.key])]
    log.info("upload %s → %s: %d files, %d already there, %d to send",
             source.uri, target.uri, len(local), len(local) - len(todo), len(todo))
    progress = Progress(log, "uploaded", len(todo))

    def send(key: str) -> int:
        body = source.read(key)
        content_md5 = base64.b64encode(bytes.fromhex(digests[key])).decode()
        with aws_errors(f"uploading {key}"):
            s3.put_object(Bucket=target.bucket, Key=target.key(key), Body=body,
                          ContentMD5=content_md5, ContentType="application/json")
        progress.advance()
        return len(body)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        sent = sum(pool.map(send, [obj.key for obj in todo]))
    _verify(s3, target, {obj.key: (obj.size, digests[obj.key]) for obj in local})
    log.info("upload done: %d sent (%.1f MB), %d skipped, all %d verified",
             len(todo), sent / 1e6, len(local) - len(todo), len(local))
    return UploadResult(len(todo), len(local) - len(todo), sent)


def _remote_etags(s3: Any, target: S3Location) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    strip = len(target.key(""))
    paginator = s3.get_paginator("list_objects_v2")
    for folder in RAW_FOLDERS:
        with aws_errors(f"listing {target.uri}/{folder}"):
            for page in paginator.paginate(Bucket=target.bucket, Prefix=target.key(folder) + "/"):
                for item in page.get("Contents", []):
                    key = str(item["Key"])[strip:]
                    found[key] = (int(item["Size"]), str(item["ETag"]).strip('"'))
    return found


def _local_md5s(source: LocalSource, keys: list[str], workers: int) -> dict[str, str]:
    def digest(key: str) -> str:
        return hashlib.md5(source.path(key).read_bytes(), usedforsecurity=False).hexdigest()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(keys, pool.map(digest, keys), strict=True))


def _verify(s3: Any, target: S3Location, expected: dict[str, tuple[int, str]]) -> None:
    remote = _remote_etags(s3, target)
    bad = sorted(key for key, want in expected.items() if remote.get(key) != want)
    if bad:
        raise IngestError(
            f"{len(bad)} objects differ from the local files after upload "
            f"(first: {bad[0]}); run the upload again"
        )
