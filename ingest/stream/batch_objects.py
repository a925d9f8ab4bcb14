"""A micro-batch of `stream` as raw log objects: one object per (micro-batch, shard).

The staging core stages objects; a stream delivers records. Each shard's records of one
micro-batch become one log object, so the same verification, ledger, quarantine and landing
serve both (docs/streaming.md):

- key `log_data/stream/<stream>/<shard>/<first>-<last>.json` (`batch_object_key`): the
  stream, the shard and the sequence numbers of its first and last record. It is not
  `deliver`'s layout (ingest.stream.delivered_objects, one object per event day, named by
  it) because these objects are never written nor listed: they land at once, one file per
  UTC day of their events' `ts`, so their name holds no date and every line rule applies but
  the file-date one (as for any log object without a date in its name);
- body: the records' bytes in sequence order, one record a line (a record holding several
  lines gives several lines);
- fingerprint: a digest of the body.

A micro-batch replayed after a crash reads the same records between the same offsets, so
it makes the same keys with the same fingerprints: the ledger finds them already staged,
and nothing is loaded twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from ingest.kinesis.records import StreamRecord
from ingest.raw.sources import RawObject, ReadResult, StreamLocation, key_problem

FOLDER = "log_data"


def batch_object_key(stream: str, shard: str, first: str, last: str) -> str:
    """The key of the micro-batch object holding a shard's records `first` to `last`."""
    return f"{FOLDER}/stream/{stream}/{shard}/{first}-{last}.json"


class StreamObjects:
    """The objects of one micro-batch, held in memory: a RawSource the core can stage."""

    def __init__(self, stream: str, records: Iterable[StreamRecord]) -> None:
        self.location = StreamLocation(stream)
        by_shard: dict[str, list[StreamRecord]] = {}
        for record in records:
            by_shard.setdefault(record.shard, []).append(record)
        self.bodies: dict[str, bytes] = {}
        self.objects: list[RawObject] = []
        for shard, held in sorted(by_shard.items()):
            held.sort(key=lambda record: int(record.sequence))
            key = batch_object_key(stream, shard, held[0].sequence, held[-1].sequence)
            body = b"\n".join(record.data for record in held)
            digest = hashlib.sha256(body).hexdigest()[:32]
            self.bodies[key] = body
            self.objects.append(RawObject(key, len(body), digest, key_problem(key, FOLDER)))

    @property
    def uri(self) -> str:
        return self.location.uri

    def list_objects(self, folder: str) -> Iterator[RawObject]:
        return iter(self.objects if folder == FOLDER else [])

    def read(self, key: str) -> bytes:
        return self.bodies[key]

    def read_listed(self, obj: RawObject) -> ReadResult:
        return ReadResult(self.bodies[obj.key])
