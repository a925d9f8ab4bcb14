"""A Redshift cluster plus the IAM role it uses to COPY the raw data: up, status, down.

The master password comes only from DBT_ENV_SECRET_REDSHIFT_PASSWORD (the variable the dbt
profile reads); it is sent once, in CreateCluster, and never printed or logged. Only clusters
and roles tagged `project=sparkify-dbt` are ever changed or deleted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from ingest.clusters.common import (
    PROJECT,
    ClusterInfo,
    aws_call,
    aws_client,
    error_code,
    is_project,
    project_tags,
    tag_dict,
    tag_list,
    wait_until,
)
from ingest.errors import IngestError
from ingest.raw.sources import S3Location
from ingest.settings import (
    RedshiftClusterSettings,
    RedshiftSettings,
    declared,
    env_name,
)

log = logging.getLogger(__name__)

PASSWORD_ENV = env_name(RedshiftSettings, "password")
POLICY_NAME = "sparkify-dbt-read-raw"
DEFAULT_ROLE: str = RedshiftClusterSettings.model_fields["role_name"].default
FAILED_STATES = (
    "gone", "deleting", "final-snapshot", "hardware-failure", "paused", "incompatible-hsm",
    "incompatible-network", "incompatible-parameters", "incompatible-restore",
)


def _cluster(name: str) -> Any:
    return declared(RedshiftClusterSettings, name)


@dataclass(frozen=True)
class RedshiftConfig:
    """What `redshift_up` creates (no secret in here); the defaults are those of the
    SPARKIFY_* variables, `RedshiftConfig.of(…)` takes the values the CLI resolved."""

    cluster_id: str = _cluster("cluster_id")
    node_type: str = _cluster("node_type")
    node_count: int = _cluster("node_count")
    database: str = declared(RedshiftSettings, "database")
    user: str = declared(RedshiftSettings, "user")
    raw_uri: str | None = _cluster("raw_uri")
    role_name: str = _cluster("role_name")
    publicly_accessible: bool = _cluster("public")
    subnet_group: str | None = _cluster("subnet_group")
    security_group_ids: tuple[str, ...] = _cluster("security_groups")
    timeout: float = _cluster("timeout")
    poll_interval: float = 20.0

    @classmethod
    def of(cls, cluster: RedshiftClusterSettings, warehouse: RedshiftSettings,
           **given: Any) -> RedshiftConfig:
        """The settings' values, unless `given`."""
        return replace(cls(
            cluster_id=cluster.cluster_id, node_type=cluster.node_type,
            node_count=cluster.node_count, database=warehouse.database, user=warehouse.user,
            raw_uri=cluster.raw_uri, role_name=cluster.role_name,
            publicly_accessible=cluster.public, subnet_group=cluster.subnet_group,
            security_group_ids=cluster.security_groups, timeout=cluster.timeout,
        ), **given)

    def __post_init__(self) -> None:
        if self.node_count < 1:
            raise IngestError(f"a Redshift cluster needs at least 1 node, not {self.node_count}")


def redshift_up(config: RedshiftConfig, password: str | None) -> ClusterInfo:
    """Create (or reuse) the role and the cluster, wait until available, print the settings.

    `password`: the new cluster's master password (DBT_ENV_SECRET_REDSHIFT_PASSWORD)."""
    if not password:
        raise IngestError(f"{PASSWORD_ENV} is not set: export the master password for the new "
                          "Redshift cluster in that variable (it is never read from a file)")
    if not config.raw_uri:
        raise IngestError("the raw data location is missing: set SPARKIFY_RAW_URI or --raw-uri "
                          "(s3://bucket/prefix, the only place the cluster's role may read)")
    raw = S3Location.parse(config.raw_uri)
    redshift = aws_client("redshift")
    existing = _find(redshift, config.cluster_id)
    if existing is not None and not is_project(tag_dict(existing.get("Tags"))):
        raise IngestError(
            f"Redshift cluster {config.cluster_id} exists but is not a {PROJECT} cluster "
            f"(no tag project={PROJECT}): choose another --cluster-id"
        )
    role_arn = ensure_role(aws_client("iam"), config.role_name, raw)

    if existing is None:
        request = _create_cluster_request(config, role_arn)
        with _secret_kept_out(password), aws_call(
                f"creating Redshift cluster {config.cluster_id}"):
            redshift.create_cluster(**request, MasterUserPassword=password)
        log.info("Redshift cluster %s requested", config.cluster_id)
    else:
        log.info("Redshift cluster %s is already %s: reusing it", config.cluster_id,
                 existing.get("ClusterStatus"))
        attached = {r.get("IamRoleArn") for r in existing.get("IamRoles", [])}
        if role_arn not in attached:
            with aws_call(f"attaching {role_arn} to Redshift cluster {config.cluster_id}"):
                redshift.modify_cluster_iam_roles(
                    ClusterIdentifier=config.cluster_id, AddIamRoles=[role_arn])

    wait_until(
        f"Redshift cluster {config.cluster_id}",
        lambda: _status(redshift, config.cluster_id),
        ready=("available",), failed=FAILED_STATES,
        timeout=config.timeout, interval=config.poll_interval,
    )
    cluster = _find(redshift, config.cluster_id)
    if cluster is None:
        raise IngestError(f"Redshift cluster {config.cluster_id} disappeared while starting")
    info = _info(cluster)
    _print_connection(info, config, role_arn)
    return info


def redshift_status() -> list[ClusterInfo]:
    """The project's Redshift clusters (every state)."""
    return [_info(cluster) for cluster in _project_clusters(aws_client("redshift"))]


def redshift_down(
    cluster_id: str | None = None, *, delete_role: bool = False, role_name: str | None = None
) -> list[str]:
    """Delete `cluster_id` (only if it is the project's) or every project cluster, without a
    final snapshot; with `delete_role` also the project's IAM role (`role_name`)."""
    redshift = aws_client("redshift")
    if cluster_id is None:
        targets = _project_clusters(redshift)
    else:
        cluster = _find(redshift, cluster_id)
        if cluster is None:
            raise IngestError(f"Redshift cluster {cluster_id} does not exist in "
                              f"{redshift.meta.region_name}: nothing deleted")
        if not is_project(tag_dict(cluster.get("Tags"))):
            raise IngestError(
                f"Redshift cluster {cluster_id} is not a {PROJECT} cluster "
                f"(no tag project={PROJECT}): refusing to delete it, nothing deleted"
            )
        targets = [cluster]
    iam = aws_client("iam") if delete_role else None
    role = role_name or DEFAULT_ROLE
    if iam is not None:
        _check_role_owned(iam, role)  # before deleting anything

    deleted: list[str] = []
    for cluster in targets:
        name = str(cluster["ClusterIdentifier"])
        if cluster.get("ClusterStatus") == "deleting":
            print(f"Redshift cluster {name} is already being deleted")
            continue
        with aws_call(f"deleting Redshift cluster {name}"):
            redshift.delete_cluster(ClusterIdentifier=name, SkipFinalClusterSnapshot=True)
        print(f"deleting Redshift cluster {name} (no final snapshot)")
        deleted.append(name)
    if not targets:
        print(f"no {PROJECT} Redshift clusters: nothing to delete")
    if iam is not None:
        delete_project_role(iam, role)
    return deleted


def raw_read_policy(raw: S3Location, partition: str = "aws") -> dict[str, Any]:
    """Least privilege for COPY: read objects below the prefix, list only that prefix."""
    bucket_arn = f"arn:{partition}:s3:::{raw.bucket}"
    objects = f"{bucket_arn}/{raw.prefix}/*" if raw.prefix else f"{bucket_arn}/*"
    listing: dict[str, Any] = {
        "Sid": "ListRawPrefix", "Effect": "Allow", "Action": "s3:ListBucket",
        "Resource": bucket_arn,
    }
    if raw.prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [f"{raw.prefix}/*"]}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadRawObjects", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": objects},
            listing,
        ],
    }


TRUST_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "redshift.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }],
}


def ensure_role(iam: Any, role_name: str, raw: S3Location) -> str:
    """The project's role Redshift assumes to read `raw`, created or updated; its ARN."""
    role = _get_role(iam, role_name)
    trust = json.dumps(TRUST_POLICY)
    if role is None:
        with aws_call(f"creating IAM role {role_name}"):
            role = iam.create_role(
                RoleName=role_name, AssumeRolePolicyDocument=trust,
                Description=f"{PROJECT}: lets Redshift COPY from {raw.uri}",
                Tags=tag_list(project_tags(role_name)),
            )["Role"]
        log.info("IAM role %s created", role_name)
    else:
        _require_owned(iam, role_name)
        with aws_call(f"updating the trust policy of IAM role {role_name}"):
            iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust)
    policy = raw_read_policy(raw, iam.meta.partition)
    with aws_call(f"setting the inline policy of IAM role {role_name}"):
        iam.put_role_policy(RoleName=role_name, PolicyName=POLICY_NAME,
                            PolicyDocument=json.dumps(policy))
    return str(role["Arn"])


def delete_project_role(iam: Any, role_name: str) -> bool:
    """Delete the role (with its policies) if it exists and is the project's."""
    if _get_role(iam, role_name) is None:
        print(f"IAM role {role_name} does not exist: nothing to delete")
        return False
    _require_owned(iam, role_name)
    with aws_call(f"deleting IAM role {role_name}"):
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
            for policy in page.get("PolicyNames", []):
                iam.delete_role_policy(RoleName=role_name, PolicyName=policy)
        for page in iam.get_paginator("list_attached_role_policies").paginate(
                RoleName=role_name):
            for attached in page.get("AttachedPolicies", []):
                iam.detach_role_policy(RoleName=role_name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=role_name)
    print(f"deleted IAM role {role_name}")
    return True


def _get_role(iam: Any, role_name: str) -> dict[str, Any] | None:
    try:
        with aws_call(f"reading IAM role {role_name}"):
            role: dict[str, Any] = iam.get_role(RoleName=role_name)["Role"]
    except IngestError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    return role


def _require_owned(iam: Any, role_name: str) -> None:
    with aws_call(f"reading the tags of IAM role {role_name}"):
        tags = iam.list_role_tags(RoleName=role_name).get("Tags", [])
    if not is_project(tag_dict(tags)):
        raise IngestError(f"IAM role {role_name} exists but is not tagged project={PROJECT}: "
                          "refusing to change it (choose another role name)")


def _check_role_owned(iam: Any, role_name: str) -> None:
    if _get_role(iam, role_name) is not None:
        _require_owned(iam, role_name)


def _create_cluster_request(config: RedshiftConfig, role_arn: str) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ClusterIdentifier": config.cluster_id,
        "NodeType": config.node_type,
        "DBName": config.database,
        "MasterUsername": config.user,
        "PubliclyAccessible": config.publicly_accessible,
        "IamRoles": [role_arn],
        "Tags": tag_list(project_tags(config.cluster_id)),
    }
    if config.node_count == 1:
        request["ClusterType"] = "single-node"
    else:
        request["ClusterType"] = "multi-node"
        request["NumberOfNodes"] = config.node_count
    if config.subnet_group:
        request["ClusterSubnetGroupName"] = config.subnet_group
    if config.security_group_ids:
        request["VpcSecurityGroupIds"] = list(config.security_group_ids)
    return request


@contextmanager
def _secret_kept_out(secret: str) -> Iterator[None]:
    """Keep `secret` out of botocore's debug log (request bodies) and out of error messages."""
    botocore_log = logging.getLogger("botocore")
    saved = botocore_log.level
    if botocore_log.getEffectiveLevel() < logging.WARNING:
        botocore_log.setLevel(logging.WARNING)
    try:
        yield
    except IngestError as exc:
        message = str(exc)
        if secret in message:
            raise IngestError(message.replace(secret, "********")) from None
        raise
    finally:
        botocore_log.setLevel(saved)


def _find(redshift: Any, cluster_id: str) -> dict[str, Any] | None:
    try:
        with aws_call(f"describing Redshift cluster {cluster_id}"):
            clusters = redshift.describe_clusters(ClusterIdentifier=cluster_id)["Clusters"]
    except IngestError as exc:
        if error_code(exc) in {"ClusterNotFound", "ClusterNotFoundFault"}:
            return None
        raise
    return dict(clusters[0]) if clusters else None


def _status(redshift: Any, cluster_id: str) -> str:
    cluster = _find(redshift, cluster_id)
    return str(cluster.get("ClusterStatus", "unknown")) if cluster else "gone"


def _project_clusters(redshift: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with aws_call("listing Redshift clusters"):
        for page in redshift.get_paginator("describe_clusters").paginate():
            found.extend(c for c in page.get("Clusters", []) if is_project(tag_dict(c.get("Tags"))))
    return sorted(found, key=lambda c: str(c["ClusterIdentifier"]))


def _info(cluster: dict[str, Any]) -> ClusterInfo:
    endpoint = cluster.get("Endpoint") or {}
    return ClusterInfo(
        service="redshift",
        cluster_id=str(cluster["ClusterIdentifier"]),
        name=str(cluster["ClusterIdentifier"]),
        state=str(cluster.get("ClusterStatus", "unknown")),
        host=endpoint.get("Address") or None,
        port=int(endpoint["Port"]) if endpoint.get("Port") else None,
        iam_roles=tuple(str(r["IamRoleArn"]) for r in cluster.get("IamRoles", [])),
    )


def _print_connection(info: ClusterInfo, config: RedshiftConfig, role_arn: str) -> None:
    print(f"Redshift cluster {info.cluster_id} is {info.state}")
    print("dbt profile settings (target redshift; the password stays in "
          f"{PASSWORD_ENV}):")
    print(f"  export SPARKIFY_REDSHIFT_HOST={info.host or ''}")
    print(f"  export SPARKIFY_REDSHIFT_PORT={info.port or 5439}")
    print(f"  export SPARKIFY_REDSHIFT_DATABASE={config.database}")
    print(f"  export SPARKIFY_REDSHIFT_USER={config.user}")
    print(f"  export SPARKIFY_REDSHIFT_CLUSTER_ID={info.cluster_id}")
    print(f"  export SPARKIFY_IAM_ROLE={role_arn}")
    print("  export SPARKIFY_TARGET=redshift")
