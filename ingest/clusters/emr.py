"""An EMR cluster with Spark and Hive for the dbt-spark `thrift` target: up, status, down.

Only clusters tagged `project=sparkify-dbt` are ever found or terminated; `up` is idempotent
(an active project cluster of the same name is reused).
"""

from __future__ import annotations

import logging
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
from ingest.settings import EmrSettings, declared

log = logging.getLogger(__name__)

THRIFT_PORT = 10001
ACTIVE_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
READY_STATES = ("WAITING", "RUNNING")
ENDED_STATES = ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS")
THRIFT_SERVER = "/usr/lib/spark/sbin/start-thriftserver.sh"


@dataclass(frozen=True)
class EmrConfig:
    """What `emr_up` creates; the defaults are those of the SPARKIFY_EMR_* variables,
    `EmrConfig.of(settings)` takes the values the CLI resolved."""

    name: str = declared(EmrSettings, "name")
    release_label: str = declared(EmrSettings, "release")
    master_instance_type: str = declared(EmrSettings, "instance_type")
    core_instance_type: str = declared(EmrSettings, "instance_type")
    core_count: int = declared(EmrSettings, "core_count")
    subnet_id: str | None = declared(EmrSettings, "subnet")
    key_pair: str | None = declared(EmrSettings, "key_pair")
    log_uri: str | None = declared(EmrSettings, "log_uri")
    service_role: str = declared(EmrSettings, "service_role")
    job_flow_role: str = declared(EmrSettings, "job_flow_role")
    start_thrift_server: bool = True
    timeout: float = declared(EmrSettings, "timeout")
    poll_interval: float = 15.0

    @classmethod
    def of(cls, settings: EmrSettings, **given: Any) -> EmrConfig:
        """The settings' values, unless `given`."""
        return replace(cls(
            name=settings.name, release_label=settings.release,
            master_instance_type=settings.instance_type,
            core_instance_type=settings.instance_type, core_count=settings.core_count,
            subnet_id=settings.subnet, key_pair=settings.key_pair, log_uri=settings.log_uri,
            service_role=settings.service_role, job_flow_role=settings.job_flow_role,
            timeout=settings.timeout,
        ), **given)

    def __post_init__(self) -> None:
        if self.core_count < 0:
            raise IngestError(f"the EMR core instance count must be 0 or more, not "
                              f"{self.core_count}")
        if not self.name:
            raise IngestError("the EMR cluster name must not be empty")


def emr_up(config: EmrConfig | None = None) -> ClusterInfo:
    """Create (or reuse) the project's cluster, wait until it is ready, print how to use it."""
    config = config or EmrConfig()
    client = aws_client("emr")
    existing = [c for c in _project_clusters(client) if c.name == config.name]
    if existing:
        cluster_id = existing[0].cluster_id
        log.info("EMR cluster %s (%s) is already %s: reusing it", cluster_id, config.name,
                 existing[0].state)
    else:
        try:
            with aws_call(f"creating EMR cluster {config.name!r}"):
                response = client.run_job_flow(**_run_job_flow_request(config))
        except IngestError as exc:
            if "role" in str(exc).lower() or "instanceprofile" in str(exc).lower():
                raise IngestError(f"{exc} (the default EMR roles are created once with "
                                  "`aws emr create-default-roles`)") from exc
            raise
        cluster_id = str(response["JobFlowId"])
        log.info("EMR cluster %s (%s) requested", cluster_id, config.name)
    wait_until(
        f"EMR cluster {cluster_id}",
        lambda: _describe(client, cluster_id).state,
        ready=READY_STATES, failed=ENDED_STATES,
        timeout=config.timeout, interval=config.poll_interval,
    )
    info = _describe(client, cluster_id)
    _print_connection(info)
    return info


def emr_status() -> list[ClusterInfo]:
    """The project's active EMR clusters (any name)."""
    return _project_clusters(aws_client("emr"))


def emr_down(cluster_id: str | None = None, name: str | None = None) -> list[str]:
    """Terminate `cluster_id` (only if it is the project's), else every active project
    cluster, or only those named `name` (a transient cluster whose id may never have been
    seen, e.g. when its `up` timed out)."""
    client = aws_client("emr")
    if cluster_id is None:
        targets = [c for c in _project_clusters(client) if name is None or c.name == name]
        if not targets:
            named = f" named {name!r}" if name is not None else ""
            print(f"no active {PROJECT} EMR clusters{named}: nothing to terminate")
            return []
    else:
        target = _describe_owned(client, cluster_id)
        if target.state in ENDED_STATES:
            print(f"EMR cluster {cluster_id} ({target.name}) is already {target.state}")
            return []
        targets = [target]
    ids = [target.cluster_id for target in targets]
    with aws_call(f"terminating EMR cluster(s) {', '.join(ids)}"):
        client.terminate_job_flows(JobFlowIds=ids)
    for target in targets:
        print(f"terminating EMR cluster {target.cluster_id} ({target.name}, was {target.state})")
    return ids


def _run_job_flow_request(config: EmrConfig) -> dict[str, Any]:
    instances: dict[str, Any] = {
        "InstanceGroups": [
            {"Name": "master", "InstanceRole": "MASTER", "Market": "ON_DEMAND",
             "InstanceType": config.master_instance_type, "InstanceCount": 1},
        ],
        "KeepJobFlowAliveWhenNoSteps": True,
        "TerminationProtected": False,
    }
    if config.core_count:
        instances["InstanceGroups"].append(
            {"Name": "core", "InstanceRole": "CORE", "Market": "ON_DEMAND",
             "InstanceType": config.core_instance_type, "InstanceCount": config.core_count})
    if config.subnet_id:
        instances["Ec2SubnetId"] = config.subnet_id
    if config.key_pair:
        instances["Ec2KeyName"] = config.key_pair
    request: dict[str, Any] = {
        "Name": config.name,
        "ReleaseLabel": config.release_label,
        "Applications": [{"Name": "Spark"}, {"Name": "Hive"}],
        "Instances": instances,
        "ServiceRole": config.service_role,
        "JobFlowRole": config.job_flow_role,
        "VisibleToAllUsers": True,
        "Tags": tag_list(project_tags(config.name)),
    }
    if config.log_uri:
        request["LogUri"] = config.log_uri
    if config.start_thrift_server:
        # EMR installs the Spark Thrift server but does not start it; it listens on 10001.
        request["Steps"] = [{
            "Name": "start the Spark Thrift server",
            "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar",
                              "Args": ["sudo", "-u", "spark", THRIFT_SERVER]},
        }]
    return request


def _describe(client: Any, cluster_id: str) -> ClusterInfo:
    with aws_call(f"describing EMR cluster {cluster_id}"):
        cluster = client.describe_cluster(ClusterId=cluster_id)["Cluster"]
    return _info(cluster)


def _describe_raw(client: Any, cluster_id: str) -> dict[str, Any]:
    try:
        with aws_call(f"describing EMR cluster {cluster_id}"):
            cluster: dict[str, Any] = client.describe_cluster(ClusterId=cluster_id)["Cluster"]
    except IngestError as exc:
        if error_code(exc) in {"InvalidRequestException", "NoSuchCluster"}:
            raise IngestError(
                f"EMR cluster {cluster_id} does not exist in {client.meta.region_name}: "
                "nothing terminated"
            ) from exc
        raise
    return cluster


def _describe_owned(client: Any, cluster_id: str) -> ClusterInfo:
    cluster = _describe_raw(client, cluster_id)
    if not is_project(tag_dict(cluster.get("Tags"))):
        raise IngestError(
            f"EMR cluster {cluster_id} ({cluster.get('Name', '?')}) is not a {PROJECT} cluster "
            f"(no tag project={PROJECT}): refusing to terminate it, nothing terminated"
        )
    return _info(cluster)


def _project_clusters(client: Any) -> list[ClusterInfo]:
    """Active clusters tagged as the project's (list_clusters has no tags: describe each)."""
    found: list[ClusterInfo] = []
    with aws_call("listing EMR clusters"):
        for page in client.get_paginator("list_clusters").paginate(
                ClusterStates=list(ACTIVE_STATES)):
            for summary in page.get("Clusters", []):
                cluster = client.describe_cluster(ClusterId=summary["Id"])["Cluster"]
                if is_project(tag_dict(cluster.get("Tags"))):
                    found.append(_info(cluster))
    return sorted(found, key=lambda info: info.cluster_id)


def _info(cluster: dict[str, Any]) -> ClusterInfo:
    dns = cluster.get("MasterPublicDnsName") or None
    return ClusterInfo(
        service="emr",
        cluster_id=str(cluster["Id"]),
        name=str(cluster.get("Name", "")),
        state=str(cluster.get("Status", {}).get("State", "UNKNOWN")),
        host=dns,
        port=THRIFT_PORT if dns else None,
    )


def _print_connection(info: ClusterInfo) -> None:
    print(f"EMR cluster {info.cluster_id} ({info.name}) is {info.state}")
    if not info.host:
        print("the master node has no public DNS name yet (private subnet?): "
              "use its private address or an SSH tunnel for the Thrift endpoint")
        return
    print(f"Spark Thrift endpoint: {info.host}:{THRIFT_PORT}")
    print("dbt profile settings (dbt-spark `thrift` target spark_thrift):")
    print(f"  export SPARKIFY_THRIFT_HOST={info.host}")
    print(f"  export SPARKIFY_THRIFT_PORT={THRIFT_PORT}")
    print("  export SPARKIFY_TARGET=spark_thrift")
