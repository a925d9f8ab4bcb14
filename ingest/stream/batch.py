"""One micro-batch of a stream into the Spark landing, through the steps of the one staging loop.

The micro-batch's objects (ingest.stream.batch_objects: one per shard) go through the very
steps of a stage (ingest.stage.core: `open_ledger` prepares and repairs the landing,
`stage_listed` plans, verifies, commits and reports), with the same landing sink, under the
same lock as a stage of the batch source whose landing they join: the two never write the
landing at once. What is new loads or is quarantined with its reason; an object the ledger
already holds (a micro-batch replayed after a crash) is unchanged, so nothing is loaded
twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from ingest.locks import exclusive, lock_path
from ingest.stage.core import StageOptions, StageReport, open_ledger, stage_listed
from ingest.stage.landing.format import partition_value
from ingest.stage.landing.ledger import paths_by_key, read_landed
from ingest.stage.landing.sink import LandingSink
from ingest.stream.batch_objects import FOLDER, StreamObjects

log = logging.getLogger(__name__)
# A stream object is complete when it is made, and never listed again: read it as final
# (a cut-off last record is quarantined at once, not left pending for a retry).
OPTIONS = StageOptions(max_attempts=1)


@dataclass(frozen=True)
class LandedBatch:
    """What one micro-batch changed: its stage report, and the UTC days its rows landed on."""

    report: StageReport
    days: frozenset[dt.date]

    @property
    def rows_changed(self) -> bool:
        return self.report.rows_changed

    def changed_days(self) -> frozenset[dt.date] | None:
        """The days the micro-batch's rows fall on (ingest.run.scheduler scopes its tests)."""
        return self.days

    def pruned_days(self) -> frozenset[dt.date] | None:
        """A micro-batch never removes rows."""
        return frozenset()


def land_batch(objects: StreamObjects, landing: Path, *, locks: Path,
               batch_source_uri: str) -> LandedBatch:
    """Stage the micro-batch's objects into `landing` (the batch source's, named by its URI
    for the stage lock)."""
    sink = LandingSink(landing)
    path = lock_path(locks, "stage", batch_source_uri, "spark landing", str(landing))
    try:
        with exclusive(path, f"landing {objects.uri} into {sink.name}", wait=True):
            ledger = open_ledger(sink)
            # the micro-batch lists only its own objects: earlier ones have not vanished
            report = stage_listed(objects, sink, ledger, {FOLDER: objects.objects}, OPTIONS,
                                  whole_source=False)
            held = paths_by_key(read_landed(sink.connection, FOLDER))
    finally:
        sink.close()
    keys = {obj.key for obj in objects.objects}
    days = {partition_value(relative.split("/")[1]) for key in keys
            for relative in held.get(key, [])}
    log.info("%s: %d objects, days %s", objects.uri, len(objects.objects),
             ", ".join(sorted(str(day) for day in days)) or "none")
    return LandedBatch(report, frozenset(day for day in days if day is not None))
