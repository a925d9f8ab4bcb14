"""What the EMR and Redshift lifecycles share: the project tag, clients, errors, waiting.

Credentials, region and endpoint come only from the standard AWS chain (boto3's default
session: AWS_PROFILE, AWS_ACCESS_KEY_ID/…, AWS_REGION, AWS_ENDPOINT_URL, instance roles).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ingest.aws import aws_errors
from ingest.errors import IngestError
from ingest.settings import PROJECT as PROJECT  # re-exported: the tag value

log = logging.getLogger(__name__)

PROJECT_TAG = "project"
NAME_TAG = "sparkify:name"


@dataclass(frozen=True)
class ClusterInfo:
    """One cluster as the lifecycle commands report it (never holds a secret)."""

    service: str
    cluster_id: str
    name: str
    state: str
    host: str | None = None
    port: int | None = None
    iam_roles: tuple[str, ...] = ()

    def line(self) -> str:
        """`<id>  <name>  <state>  <host:port>` for status output."""
        where = f"{self.host}:{self.port}" if self.host and self.port else (self.host or "-")
        return f"{self.cluster_id}  {self.name}  {self.state}  {where}"


def project_tags(name: str) -> dict[str, str]:
    """The tags every cluster (and role) this project creates carries."""
    return {PROJECT_TAG: PROJECT, NAME_TAG: name}


def is_project(tags: Mapping[str, str]) -> bool:
    return tags.get(PROJECT_TAG) == PROJECT


def tag_dict(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """AWS `[{"Key": k, "Value": v}, …]` as a dict."""
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in tags or ()}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


@contextmanager
def aws_call(doing: str) -> Iterator[None]:
    """`aws_errors` with a service-neutral message for an unreachable endpoint."""
    from botocore import exceptions as bx

    with aws_errors(doing):
        try:
            yield
        except (bx.EndpointConnectionError, bx.ConnectTimeoutError) as exc:
            # botocore's message names the endpoint's URL
            raise IngestError(f"{doing}: cannot reach the AWS endpoint ({exc})") from exc


def aws_client(service: str) -> Any:
    """A client of boto3's default session: the standard credential chain, and the service
    models it has loaded once are reused by every later client of the process."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 5, "mode": "standard"},
                    connect_timeout=5, read_timeout=60)
    with aws_call(f"creating the {service} client"):
        return boto3.client(service, config=config)  # type: ignore[call-overload]


def error_code(exc: BaseException) -> str:
    """The AWS error code behind an IngestError raised by `aws_call`, or ''."""
    cause = exc.__cause__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def wait_until(
    label: str,
    poll: Callable[[], str],
    *,
    ready: Collection[str],
    failed: Collection[str] = (),
    timeout: float,
    interval: float,
) -> str:
    """Call `poll` until it returns a `ready` state; fail on a `failed` one or after `timeout` s."""
    started = time.monotonic()
    while True:
        state = poll()
        waited = time.monotonic() - started
        if state in ready:
            log.info("%s is %s (after %.0f s)", label, state, waited)
            return state
        if state in failed:
            raise IngestError(f"{label} is {state} instead of {' or '.join(sorted(ready))}")
        if waited >= timeout:
            raise IngestError(
                f"{label} is still {state} after {timeout:.0f} s: check it with `status`, "
                "run `up` again to keep waiting, or `down` to remove it"
            )
        log.info("waiting for %s: %s (%.0f s of at most %.0f s)", label, state, waited, timeout)
        time.sleep(min(interval, max(timeout - waited, 0.0)))
