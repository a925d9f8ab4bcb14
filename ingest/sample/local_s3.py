"""A throwaway S3 endpoint on 127.0.0.1 (moto), so the real boto3 code path runs locally."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from ingest.aws import s3_client
from ingest.errors import IngestError

log = logging.getLogger(__name__)
REGION = "us-west-2"
LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "local-testing",
    "AWS_SECRET_ACCESS_KEY": "local-testing",
    "AWS_SESSION_TOKEN": "",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@contextmanager
def local_s3(*buckets: str) -> Iterator[str]:
    """Start moto on a free loopback port, point boto3 at it, create `buckets`; undo on exit."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # moto is the [sample] extra, not a dependency of the package
        raise IngestError(
            "the generated sample is served from a local S3 endpoint (moto), which is not "
            "installed: pip install 'sparkify-dbt[sample]', or pass --source DIR|s3://…"
        ) from exc

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto keeps its state per process: start every local S3 empty.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    saved = {key: os.environ.get(key) for key in [*LOCAL_ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE"]}
    os.environ.update(LOCAL_ENV)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.pop("AWS_PROFILE", None)
    try:
        client = s3_client()
        for bucket in buckets:
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        log.info("local S3 endpoint (moto) listening on %s", endpoint)
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
        log.info("local S3 endpoint stopped")
