"""`generate` sub-command, and the sample-size options `pipeline` shares."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ingest.setting_options import checked
from ingest.settings import SampleSettings

log = logging.getLogger("ingest")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `generate`: write a realistic raw data set."""
    settings = SampleSettings.read()
    gen = commands.add_parser("generate", help="write a realistic raw data set")
    gen.add_argument("--out", type=checked(SampleSettings, "out"), default=settings.out,
                     required=settings.out is None)
    add_size_options(gen, settings)
    gen.add_argument("--start-date", type=checked(SampleSettings, "start_date"),
                     default=settings.start_date)
    gen.add_argument("--known-song-share", type=checked(SampleSettings, "known_song_share"),
                     default=settings.known_song_share,
                     help="share of plays that name a song of the set "
                          f"(default {settings.known_song_share})")
    gen.set_defaults(handler=cmd_generate)


def add_size_options(parser: argparse.ArgumentParser, settings: SampleSettings) -> None:
    """--songs, --days, --events-per-day, --seed: the size of a generated sample."""
    parser.add_argument("--songs", type=checked(SampleSettings, "songs"), default=settings.songs)
    parser.add_argument("--days", type=checked(SampleSettings, "days"), default=settings.days)
    parser.add_argument("--events-per-day", type=checked(SampleSettings, "events_per_day"),
                        default=settings.events_per_day)
    parser.add_argument("--seed", type=checked(SampleSettings, "seed"), default=settings.seed)


def cmd_generate(args: argparse.Namespace) -> int:
    from ingest.sample.generate import GenerateConfig, generate

    config = GenerateConfig(
        songs=args.songs, days=args.days, events_per_day=args.events_per_day, seed=args.seed,
        start_date=args.start_date, known_song_share=args.known_song_share,
    )
    stats = generate(Path(args.out), config, progress=log.info)
    log.info("wrote %d song files, %d log files, %d events (%d plays), %.1f MB to %s",
             stats.song_files, stats.log_files, stats.events, stats.next_song_events,
             stats.bytes_written / 1e6, args.out)
    return 0
