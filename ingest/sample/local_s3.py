"""A throwaway S3 endpoint on 127.0.0.1 (moto), so the real boto3 code path runs locally."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from ingest.aws import S3Endpoint, s3_client
from ingest.errors import IngestError

log = logging.getLogger(__name__)
REGION = "us-west-2"
LOCAL_KEY = "local-testing"  # moto takes any credentials


@contextmanager
def local_s3(*buckets: str) -> Iterator[S3Endpoint]:
    """Start moto on a free loopback port with `buckets` created; yield its endpoint (for
    `s3_client(endpoint)`, or an S3Location's endpoint). The process's environment is
    left as it is: nothing but a client given the endpoint reaches this S3."""
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
    endpoint = S3Endpoint(f"http://{host}:{port}", REGION, LOCAL_KEY, LOCAL_KEY)
    try:
        # moto keeps its state per process: start every local S3 empty.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint.url}/moto-api/reset",
                                                      method="POST"))
        client = s3_client(endpoint)
        for bucket in buckets:
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        log.info("local S3 endpoint (moto) listening on %s", endpoint.url)
        yield endpoint
    finally:
        server.stop()
        log.info("local S3 endpoint stopped")
