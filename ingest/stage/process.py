"""Verifying one raw object and saying what the ledger should now record for it.

An object that looks cut off stays pending while it may still be written; once it has not
changed across `max_attempts` runs, its cut-off last line is quarantined and the rest loads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ingest.ledger.store import (
    FAILED,
    LOADED,
    PENDING,
    QUARANTINED,
    REJECTED,
    LedgerEntry,
    LedgerStatus,
)
from ingest.raw.sources import RawObject, SourceLocation
from ingest.raw.verify import BadLine, Rejected, Unreadable, Verified, verify_object

DEFAULT_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Processed:
    """One object after verification: its new ledger entry and, if readable, its content."""

    entry: LedgerEntry
    verified: Verified | None

    @property
    def bad_lines(self) -> Sequence[BadLine]:
        """The lines the ledger's quarantine records."""
        return self.verified.bad if self.verified is not None else ()


def process_object(table: str, obj: RawObject, body: bytes | None, source: SourceLocation,
                   previous: LedgerEntry | None, now: dt.datetime,
                   max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                   read_error: str | None = None) -> Processed:
    """Verify `body` and say what the ledger should now record for the object.

    An object that looks cut off stays pending while it may still be written; once it has
    not changed across `max_attempts` runs, its cut-off last line is quarantined and the
    rest loads (verify_object's `final`).
    """
    same_object = previous is not None and previous.fingerprint == obj.fingerprint
    first_seen = previous.first_seen_at if previous is not None else now
    attempts = (previous.attempts if same_object and previous else 0) + 1
    entry = LedgerEntry(table, obj.key, source.uri, obj.fingerprint, obj.size, PENDING,
                        first_seen)
    try:
        if obj.problem:
            raise Rejected(obj.problem)
        if body is None:
            raise Unreadable(read_error or "could not be read")
        verified = verify_object(table, obj.key, body, final=attempts >= max_attempts)
    except Rejected as exc:
        return Processed(replace(entry, status=REJECTED, attempts=attempts, reason=str(exc),
                                 rows_loaded=0, rows_quarantined=0), None)
    except Unreadable as exc:
        status: LedgerStatus = FAILED if attempts >= max_attempts else PENDING
        return Processed(replace(entry, status=status, attempts=attempts, reason=str(exc)),
                         None)
    status = QUARANTINED if verified.bad else LOADED
    reason = (f"{len(verified.bad)} line(s) quarantined, first at line "
              f"{verified.bad[0].line_number}: {verified.bad[0].reason}") if verified.bad else None
    return Processed(
        replace(entry, status=status, loaded_at=now, rows_loaded=len(verified.records),
                rows_quarantined=len(verified.bad), blank_lines=verified.blank_lines,
                attempts=0, reason=reason),
        verified,
    )
