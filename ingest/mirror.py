"""Copy an S3 prefix into a local landing folder, fetching only new or changed objects."""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ingest.progress import Progress
from ingest.sources import RawObject, RawSource

log = logging.getLogger(__name__)
INDEX_NAME = ".mirror-index.json"


@dataclass(frozen=True)
class MirrorResult:
    fetched: int
    unchanged: int
    removed: int


def mirror(source: RawSource, objects: list[RawObject], dest: Path,
           workers: int = 16) -> MirrorResult:
    """Make `dest/<key>` hold every object; the index remembers what each file was."""
    dest.mkdir(parents=True, exist_ok=True)
    index_path = dest / INDEX_NAME
    index: dict[str, str] = (
        json.loads(index_path.read_text(encoding="utf-8")) if index_path.exists() else {}
    )
    todo = [obj for obj in objects
            if index.get(obj.key) != obj.fingerprint or not (dest / obj.key).is_file()]
    wanted = {obj.key for obj in objects}
    stale = [key for key in index if key not in wanted and key.split("/")[0] in
             {obj.key.split("/")[0] for obj in objects}]
    progress = Progress(log, f"mirrored from {source.uri}", len(todo))

    def fetch(obj: RawObject) -> None:
        path = dest / obj.key
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(source.read(obj.key))
        os.replace(partial, path)
        progress.advance()

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for obj, _ in zip(todo, pool.map(fetch, todo), strict=True):
                index[obj.key] = obj.fingerprint
    finally:
        for key in stale:
            (dest / key).unlink(missing_ok=True)
            index.pop(key, None)
        index_path.write_text(json.dumps(index, sort_keys=True), encoding="utf-8")
    log.info("mirror %s → %s: %d fetched, %d unchanged, %d removed",
             source.uri, dest, len(todo), len(objects) - len(todo), len(stale))
    return MirrorResult(len(todo), len(objects) - len(todo), len(stale))
