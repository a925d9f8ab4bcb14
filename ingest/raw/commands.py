"""`upload` sub-command: a local raw folder to s3://bucket/prefix."""

from __future__ import annotations

import argparse
from pathlib import Path

from ingest.setting_options import checked
from ingest.settings import UploadSettings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `upload SRC_DIR s3://bucket/prefix [--workers N]`."""
    up = commands.add_parser("upload", help="copy a local raw folder to s3://bucket/prefix")
    up.add_argument("src_dir")
    up.add_argument("destination", help="s3://bucket/prefix")
    up.add_argument("--workers", type=checked(UploadSettings, "workers"),
                    default=UploadSettings.read().workers)
    up.set_defaults(handler=cmd_upload)


def cmd_upload(args: argparse.Namespace) -> int:
    from ingest.raw.upload import upload

    upload(Path(args.src_dir), args.destination, workers=args.workers)
    return 0
