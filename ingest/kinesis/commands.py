"""The stream's options on the command line: its name, region and endpoint, parsed once.

Every command that talks to a stream (`produce`, `deliver`, `stream`, `collect`) takes
`--stream` and `--region` from here, and `endpoint_of` is the one place the region is
resolved: `--region` / SPARKIFY_STREAM_REGION, else SPARKIFY_REGION or AWS_REGION, else
boto3's own chain (AWS_DEFAULT_REGION, the profile); the endpoint is AWS_ENDPOINT_URL.
Below the command line, a KinesisEndpoint and a StreamName are passed down as they are.
"""

from __future__ import annotations

import argparse

from ingest.errors import IngestError
from ingest.kinesis.client import KinesisEndpoint, StreamName
from ingest.setting_options import checked
from ingest.settings import AwsSettings, StageSettings, StreamSettings


def add_stream_options(parser: argparse.ArgumentParser, *, required: bool = True,
                       help: str = "Kinesis stream name") -> None:
    """`--stream` (required unless SPARKIFY_STREAM is set, or `required` is False) and
    `--region`."""
    settings = StreamSettings.read()
    parser.add_argument("--stream", type=checked(StreamSettings, "name"), default=settings.name,
                        required=required and settings.name is None, help=help)
    parser.add_argument("--region", type=checked(StreamSettings, "region"),
                        default=settings.region, help="the stream's AWS region")


def stream_name_of(args: argparse.Namespace) -> StreamName:
    """The `--stream` option, checked (IngestError when missing or invalid)."""
    if not args.stream:
        raise IngestError("--stream is required (or set SPARKIFY_STREAM)")
    return StreamName(args.stream)


def endpoint_of(args: argparse.Namespace) -> KinesisEndpoint:
    """The stream's region and endpoint, from `--region` and the settings."""
    region = args.region or StageSettings.read().region
    return KinesisEndpoint.resolve(region, AwsSettings.read().endpoint_url)
