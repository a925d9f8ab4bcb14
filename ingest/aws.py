"""AWS helpers every layer may use: the S3 client, and botocore failures as one clear line.

Credentials, region and endpoint come only from the standard AWS chain (boto3's default
session: AWS_PROFILE, AWS_ACCESS_KEY_ID/…, AWS_REGION, AWS_ENDPOINT_URL(_S3)).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ingest.errors import IngestError
from ingest.settings import AwsSettings


def s3_client() -> Any:
    """A boto3 S3 client; honours AWS_ENDPOINT_URL(_S3), AWS_PROFILE, AWS_REGION."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
    )
    return boto3.session.Session().client("s3", config=config)


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

    aws = AwsSettings.read()
    endpoint = aws.s3_endpoint_url or aws.endpoint_url
    where = f" at {endpoint}" if endpoint else ""
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/SECRET)"
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return f"cannot reach the S3 endpoint{where} ({exc})"
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        operation = str(getattr(exc, "operation_name", ""))
        if code == "NoSuchBucket" or (code == "404" and operation == "HeadBucket"):
            return "the bucket does not exist (check the name and AWS_REGION)"
        if code in {"404", "NoSuchKey"}:
            return "the object does not exist (it was deleted or the key is wrong)"
        if code in {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            return f"access denied{where}: check the AWS credentials and their permissions"
        return f"{code or 'error'}: {error.get('Message', exc)}"
    if isinstance(exc, bx.BotoCoreError):
        return str(exc)
    return None
