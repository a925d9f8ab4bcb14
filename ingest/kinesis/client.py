"""Where the streams are, the boto3 Kinesis client, stream names, failures as one line.

A KinesisEndpoint (region, endpoint URL) is resolved once, by the command line (its options
and settings), and passed down: nothing below reads a setting. Credentials still come from
boto3's chain, as for S3 (ingest.aws).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from ingest.aws import aws_errors, describe_aws_error
from ingest.errors import IngestError

_STREAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


@dataclass(frozen=True)
class KinesisEndpoint:
    """The streams' region and endpoint URL (None: AWS's own endpoint of the region)."""

    region: str | None = None
    url: str | None = None

    @classmethod
    def resolve(cls, region: str | None, url: str | None) -> KinesisEndpoint:
        """`region`, else the one boto3's chain finds (AWS_DEFAULT_REGION, the profile):
        Spark's Python workers see only the environment the JVM started with, so the
        region is resolved here, once, and handed to them."""
        if region is None:
            import boto3

            region = boto3.session.Session().region_name
        return cls(region or None, url or None)

    def options(self) -> Mapping[str, str]:
        """As the Spark source's options (`region`, `endpoint`), the unset ones left out."""
        return {key: value for key, value in (("region", self.region),
                                              ("endpoint", self.url)) if value}


@dataclass(frozen=True)
class StreamName:
    """A Kinesis stream name that Kinesis and a file path both accept."""

    value: str

    def __post_init__(self) -> None:
        if not _STREAM_NAME.fullmatch(self.value) or self.value in {".", ".."}:
            raise IngestError(f"invalid stream name {self.value!r}: use 1-128 letters, "
                              "digits, '_', '.' or '-'")

    def __str__(self) -> str:
        return self.value


def kinesis_client(endpoint: KinesisEndpoint, *, attempts: int = 3,
                   connect_timeout: float = 5, read_timeout: float = 30) -> Any:
    """A boto3 Kinesis client of `endpoint` (credentials: boto3's chain).

    The collector asks for fewer attempts and shorter timeouts: it answers 503 instead."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": attempts, "mode": "standard"},
                    connect_timeout=connect_timeout, read_timeout=read_timeout,
                    max_pool_connections=16)
    return boto3.session.Session().client("kinesis", region_name=endpoint.region,
                                          endpoint_url=endpoint.url, config=config)


def kinesis_errors(doing: str) -> AbstractContextManager[None]:
    """Turn botocore failures into one-line IngestErrors that name the stream's problem."""
    return aws_errors(doing, describe_kinesis_error)


def describe_kinesis_error(exc: BaseException) -> str | None:
    """One line for a botocore failure of a Kinesis call (None for anything else)."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return f"cannot reach the Kinesis endpoint ({exc})"
    if isinstance(exc, bx.ClientError):
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            return "the stream does not exist (check its name and the region)"
        if code.startswith("KMS"):
            return f"{code}: the stream's KMS key cannot be used (check the key and its policy)"
    return describe_aws_error(exc)


def error_code(exc: BaseException | None) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
