"""Planning one raw table's stage: what the source lists, against what the ledger holds.

New, changed and pending objects are processed; changed ones are stale; objects the ledger
holds and the source no longer lists have vanished (their rows go only with `prune`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest.ledger.store import FAILED, PENDING, REJECTED, LedgerEntry
from ingest.raw.sources import RawObject, SourceLocation


@dataclass(frozen=True)
class TablePlan:
    """What one raw table needs: objects to process, and keys whose rows must go.

    `vanished` are objects the ledger holds that the source no longer lists: their rows go
    only when pruning was asked for (then they are `removed`), else they are reported.
    """

    table: str
    process: tuple[RawObject, ...]
    stale: tuple[str, ...]
    unchanged: int
    failed: int
    vanished: tuple[str, ...] = ()
    prune: bool = False

    @property
    def removed(self) -> tuple[str, ...]:
        return self.vanished if self.prune else ()

    @property
    def is_empty(self) -> bool:
        return not self.process and not self.removed


def plan_table(table: str, objects: Sequence[RawObject], source: SourceLocation,
               ledger: dict[tuple[str, str], LedgerEntry], *,
               prune: bool = False) -> TablePlan:
    """New, changed and pending objects are processed; changed ones are stale."""
    current = {obj.key for obj in objects}
    process: list[RawObject] = []
    stale: list[str] = []
    unchanged = failed = 0
    for obj in objects:
        entry = ledger.get((table, obj.key))
        if entry is None:
            process.append(obj)
        elif entry.fingerprint != obj.fingerprint or entry.source_uri != source.uri:
            process.append(obj)
            stale.append(obj.key)
        elif entry.status == PENDING:
            process.append(obj)
        elif entry.status in {FAILED, REJECTED}:
            failed += 1
        else:
            unchanged += 1
    # an object archived and then deleted from the source keeps its rows; objects of other
    # sources (a stream's micro-batches, staged into the same landing) are not this one's
    vanished = sorted(key for (entry_table, key), entry in ledger.items()
                      if entry_table == table and key not in current
                      and entry.archived_at is None and entry.source_uri == source.uri)
    return TablePlan(table, tuple(process), tuple(stale), unchanged, failed, tuple(vanished),
                     prune)
