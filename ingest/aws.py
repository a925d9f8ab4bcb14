"""AWS helpers every layer may use: the S3 client, and botocore failures as one clear line.

Credentials, region and endpoint come from the standard AWS chain (boto3's default
session: AWS_PROFILE, AWS_ACCESS_KEY_ID/…, AWS_REGION, AWS_ENDPOINT_URL(_S3)), unless the
caller names an endpoint of its own (S3Endpoint: the local S3 of the generated sample).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ingest.errors import IngestError


@dataclass(frozen=True)
class S3Endpoint:
    """An S3 endpoint given explicitly (not the AWS chain's), with its region and the
    credentials it takes (a local moto server accepts any)."""

    url: str
    region: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)


def s3_client(endpoint: S3Endpoint | None = None) -> Any:
    """A boto3 S3 client: of `endpoint`, else of the AWS chain (AWS_ENDPOINT_URL(_S3),
    AWS_PROFILE, AWS_REGION)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
    )
    if endpoint is None:
        return boto3.session.Session().client("s3", config=config)
    session = boto3.session.Session(aws_access_key_id=endpoint.access_key,
                                    aws_secret_access_key=endpoint.secret_key,
                                    region_name=endpoint.region)
    return session.client("s3", config=config, endpoint_url=endpoint.url)


def check_bucket(client: Any, bucket: str) -> None:
    with aws_errors(f"opening bucket {bucket!r}"):
        client.head_bucket(Bucket=bucket)


@contextmanager
def aws_errors(doing: str, describe: Callable[[BaseException], str | None] | None = None
               ) -> Iterator[None]:
    """Turn botocore failures into one-line IngestErrors that say what to check.

    `describe` words a failure for one service (default: describe_aws_error's S3 wording).
    """
    try:
        yield
    except Exception as exc:
        message = (describe or describe_aws_error)(exc)
        if message is None:
            raise
        raise IngestError(f"{doing}: {message}") from exc


def describe_aws_error(exc: BaseException) -> str | None:
    """One line for a botocore failure (None for anything else)."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/SECRET)"
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return f"cannot reach the S3 endpoint ({exc})"  # it names the endpoint's URL
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        operation = str(getattr(exc, "operation_name", ""))
        if code == "NoSuchBucket" or (code == "404" and operation == "HeadBucket"):
            return "the bucket does not exist (check the name and AWS_REGION)"
        if code in {"404", "NoSuchKey"}:
            return "the object does not exist (it was deleted or the key is wrong)"
        if code in {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            return "access denied: check the AWS credentials and their permissions"
        return f"{code or 'error'}: {error.get('Message', exc)}"
    if isinstance(exc, bx.BotoCoreError):
        return str(exc)
    return None
