"""Copy processed raw objects to an archive prefix (local folder or s3://), like the seeds did.

Only objects the ledger says were loaded (fully, or with quarantined lines) and not yet
archived are copied, so an interrupted archive picks up where it stopped. The source is left
alone unless `delete` is asked for; the ledger remembers archived objects, so their rows are
kept when they then vanish from the source.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.aws import aws_errors, s3_client
from ingest.errors import IngestError
from ingest.ledger.store import HAS_ROWS, LedgerEntry
from ingest.raw.sources import LocalSource, RawSource, S3Location, S3Source, SourceLocation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchiveRequest:
    destination: str
    delete: bool = False


def archive_from_ledger(ledger: Mapping[tuple[str, str], LedgerEntry], source: RawSource,
                        request: ArchiveRequest, present: Collection[str],
                        mark_archived: Callable[[str, Sequence[str]], None]) -> None:
    """Archive what the ledger says is loaded and not archived yet; record it.

    With `delete`, objects archived earlier but still `present` in the source go too.
    """
    entries = to_archive(list(ledger.values()), source.location, present if request.delete else ())
    for start in range(0, len(entries), 100):
        done = archive_objects(source, entries[start:start + 100], request)
        for table, keys in done.items():
            mark_archived(table, keys)


def to_archive(entries: Sequence[LedgerEntry], source: SourceLocation,
               also_archived: Collection[str] = ()) -> list[LedgerEntry]:
    """Loaded objects of this source not archived yet, and archived ones in `also_archived`."""
    return sorted((entry for entry in entries if entry.status in HAS_ROWS
                   and entry.source_uri == source.uri
                   and (entry.archived_at is None or entry.key in also_archived)),
                  key=lambda entry: (entry.table, entry.key))


def archive_objects(source: RawSource, entries: Sequence[LedgerEntry],
                    request: ArchiveRequest) -> dict[str, list[str]]:
    """Copy (and maybe delete) each entry's object; the keys done, by table."""
    done: dict[str, list[str]] = {}
    destination_s3 = (S3Location.parse(request.destination)
                      if request.destination.startswith("s3://") else None)
    client = s3_client() if destination_s3 else None
    for entry in entries:
        if destination_s3 is not None and client is not None:
            target = destination_s3.key(entry.key)
            with aws_errors(f"archiving {entry.key} to {request.destination}"):
                if isinstance(source, S3Source):
                    client.copy_object(Bucket=destination_s3.bucket, Key=target, CopySource={
                        "Bucket": source.location.bucket,
                        "Key": source.location.key(entry.key)})
                else:
                    client.put_object(Bucket=destination_s3.bucket, Key=target,
                                      Body=source.read(entry.key))
        else:
            path = confined(Path(request.destination), entry.key)
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(source, LocalSource):
                shutil.copy2(source.path(entry.key), path)
            else:
                path.write_bytes(source.read(entry.key))
        if request.delete:
            _delete(source, entry.key)
        done.setdefault(entry.table, []).append(entry.key)
    if entries and len(entries) < 100:
        log.info("archived %d objects to %s%s", len(entries), request.destination,
                 " and deleted them from the source" if request.delete else "")
    return done


def confined(root: Path, key: str) -> Path:
    """`root/key`, refusing a key that would land outside `root` (`..`, absolute)."""
    parts = key.split("/")
    if key.startswith("/") or any(part in {"", ".", ".."} for part in parts):
        raise IngestError(f"refusing to touch {key!r}: it would land outside {root}")
    return root / key


def _delete(source: RawSource, key: str) -> None:
    if isinstance(source, LocalSource):
        confined(source.root, key).unlink(missing_ok=True)
        return
    assert isinstance(source, S3Source)
    with aws_errors(f"deleting {source.location.uri}/{key}"):
        source.client.delete_object(Bucket=source.location.bucket,
                                    Key=source.location.key(key))
