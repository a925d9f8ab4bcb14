"""Copy processed raw objects to an archive prefix (local folder or s3://), like the seeds did.

Only objects the ledger says were loaded (fully, or with quarantined lines) and not yet
archived are copied, so an interrupted archive picks up where it stopped. The source is left
alone unless `delete` is asked for; the ledger remembers archived objects, so their rows are
kept when they then vanish from the source.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.ledger import HAS_ROWS, LedgerEntry, LedgerStore
from ingest.sources import LocalSource, S3Location, S3Source, aws_errors, s3_client
from ingest.warehouse import now_utc, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchiveRequest:
    destination: str
    delete: bool = False


def archive_from_ledger(connection: Any, store: LedgerStore, source: LocalSource | S3Source,
                        request: ArchiveRequest, present: Collection[str]) -> None:
    """Archive what the ledger says is loaded and not archived yet; record it.

    With `delete`, objects archived earlier but still `present` in the source go too.
    """
    with transaction(connection) as cursor:
        entries = to_archive(list(store.read(cursor).values()), source.uri,
                             present if request.delete else ())
    for start in range(0, len(entries), 100):
        done = archive_objects(source, entries[start:start + 100], request)
        with transaction(connection) as cursor:
            for table, keys in done.items():
                store.mark_archived(cursor, table, keys, now_utc())


def to_archive(entries: Sequence[LedgerEntry], source_uri: str,
               also_archived: Collection[str] = ()) -> list[LedgerEntry]:
    """Loaded objects of this source not archived yet, and archived ones in `also_archived`."""
    return sorted((entry for entry in entries if entry.status in HAS_ROWS
                   and entry.source_uri == source_uri
                   and (entry.archived_at is None or entry.key in also_archived)),
                  key=lambda entry: (entry.table, entry.key))


def archive_objects(source: LocalSource | S3Source, entries: Sequence[LedgerEntry],
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
            path = Path(request.destination) / entry.key
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


def _delete(source: LocalSource | S3Source, key: str) -> None:
    if isinstance(source, LocalSource):
        source.path(key).unlink(missing_ok=True)
        return
    with aws_errors(f"deleting {source.location.uri}/{key}"):
        source.client.delete_object(Bucket=source.location.bucket,
                                    Key=source.location.key(key))
