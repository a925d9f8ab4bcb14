"""Synthetic Sparkify raw data: song files and daily event logs in the upstream format.

The output copies the public `udacity-dend` data byte for byte in shape, quirks included:
one-line song files without a trailing newline, `\\/` escapes and blank lines in the logs,
user agents wrapped in literal quotes, user ids as strings, level changes, duplicate events,
and plays whose title, artist or length differ slightly from the song files.

Building the catalogue is ingest.sample.catalog's job, the users and their events
ingest.sample.events'; this module writes the files.
"""

from __future__ import annotations

import datetime
import logging
import random
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ingest.sample.catalog import Song, build_catalog, song_json, unknown_pool
from ingest.sample.config import GenerateConfig, GenerateStats
from ingest.sample.events import DAY_MS, EventWriter, build_users, lay_out

__all__ = ["GenerateConfig", "GenerateStats", "generate"]
log = logging.getLogger(__name__)
_EPOCH = datetime.date(1970, 1, 1)


def _write_songs(out_dir: Path, songs: list[Song], writer: _FileWriter) -> int:
    """Queue one file per song on `writer`; return the bytes to be written."""
    made: set[Path] = set()
    written = 0
    for song in songs:
        tid = song.track_id
        folder = out_dir / "song_data" / tid[2] / tid[3] / tid[4]
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        data = song_json(song).encode("utf-8")
        writer.write(folder / f"{tid}.json", data)
        written += len(data)
    return written


class _FileWriter:
    """Writes files on a few threads while the caller computes the next ones.

    Generating is CPU-bound Python and writing is system calls (which release the GIL): at
    size L (100,000 song files, 3 GB of logs) the writes, done in line, took about a third of
    the time. Every write is waited for (and its error raised) by `close`.
    """

    def __init__(self, threads: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads,
                                        thread_name_prefix="generate-write")
        self._pending: list[Future[int]] = []

    def write(self, path: Path, data: bytes) -> None:
        self._pending.append(self._pool.submit(path.write_bytes, data))
        if len(self._pending) >= 4096:
            self._drain(keep=1024)

    def _drain(self, keep: int = 0) -> None:
        while len(self._pending) > keep:
            self._pending.pop(0).result()

    def close(self) -> None:
        try:
            self._drain()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _day_path(out_dir: Path, date: datetime.date) -> Path:
    return out_dir / "log_data" / f"{date:%Y}" / f"{date:%m}" / f"{date:%Y-%m-%d}-events.json"


def generate(out_dir: Path, config: GenerateConfig,
             progress: Callable[[str], None] | None = None) -> GenerateStats:
    """Write song_data/ and log_data/ below `out_dir`; same config, same bytes."""
    config.validate()
    report = progress or (lambda _message: None)
    rng = random.Random(config.seed)
    artist_names: set[str] = set()
    files = _FileWriter()
    try:
        songs = build_catalog(rng, config.songs, artist_names)
        written = _write_songs(out_dir, songs, files)
        report(f"wrote {len(songs)} song files")
        plays = config.events_per_day * config.days * (1.0 - config.known_song_share)
        unknown = unknown_pool(rng, max(50, min(30_000, int(plays) // 3)), artist_names)
        start_ms = (config.start_date - _EPOCH).days * DAY_MS
        writer = EventWriter(rng, config, songs, build_users(rng, config, start_ms), unknown)
        events = next_songs = duplicates = 0
        for day_index in range(config.days):
            date = config.start_date + datetime.timedelta(days=day_index)
            day_events = writer.day(day_index, start_ms + day_index * DAY_MS)
            force = (config.duplicate_share > 0 and duplicates == 0
                     and day_index == config.days - 1)
            pairs = [(event[4], event[3]) for event in day_events]
            lines, day_count, day_songs = lay_out(rng, config, pairs, force)
            path = _day_path(out_dir, date)
            path.parent.mkdir(parents=True, exist_ok=True)
            data = "\n".join(lines).encode("utf-8")
            files.write(path, data)
            written += len(data)
            events += day_count
            next_songs += day_songs
            duplicates += day_count - len(day_events)
            report(f"wrote {path.name}: {day_count} events")
    finally:
        files.close()
    log.debug("generated %d songs and %d events in %s", len(songs), events, out_dir)
    return GenerateStats(len(songs), config.days, events, next_songs, written)
