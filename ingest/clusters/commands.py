"""`emr` and `redshift` subcommands: up / status / down for the project's AWS clusters.

The work happens in `ingest.clusters.emr` and `ingest.clusters.redshift`; this module only turns
command-line options (each defaulting to its environment variable) into their configs.
"""

from __future__ import annotations

import argparse
import os

from ingest.clusters.common import PROJECT, ClusterInfo
from ingest.clusters.emr import EmrConfig, emr_down, emr_status, emr_up
from ingest.clusters.redshift import (
    DEFAULT_ROLE,
    RedshiftConfig,
    redshift_down,
    redshift_status,
    redshift_up,
)

__all__ = [
    "ClusterInfo",
    "EmrConfig",
    "RedshiftConfig",
    "add_infra_commands",
    "cmd_emr",
    "cmd_redshift",
    "emr_down",
    "emr_status",
    "emr_up",
    "redshift_down",
    "redshift_status",
    "redshift_up",
]
ACTIONS = ("up", "status", "down")


def add_infra_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register `emr` and `redshift` (each: up | status | down) on a subparsers object."""
    env = os.environ.get

    emr = commands.add_parser(
        "emr", help="EMR cluster (Spark + Hive, Spark Thrift server) for the spark_thrift target")
    emr.add_argument("action", choices=ACTIONS)
    emr.add_argument("--name", default=env("SPARKIFY_EMR_NAME", PROJECT))
    emr.add_argument("--release", default=env("SPARKIFY_EMR_RELEASE", "emr-7.5.0"))
    emr.add_argument("--instance-type", default=env("SPARKIFY_EMR_INSTANCE_TYPE", "m5.xlarge"),
                     help="master and core instance type (default m5.xlarge)")
    emr.add_argument("--core-instance-type", default=None,
                     help="core nodes only (default: --instance-type)")
    emr.add_argument("--core-count", type=int, default=env("SPARKIFY_EMR_CORE_COUNT", "2"))
    emr.add_argument("--subnet", default=env("SPARKIFY_EMR_SUBNET"), help="EC2 subnet id")
    emr.add_argument("--key-pair", default=env("SPARKIFY_EMR_KEY_PAIR"), help="EC2 key pair")
    emr.add_argument("--log-uri", default=env("SPARKIFY_EMR_LOG_URI"), help="s3://… for logs")
    emr.add_argument("--service-role",
                     default=env("SPARKIFY_EMR_SERVICE_ROLE", "EMR_DefaultRole"))
    emr.add_argument("--job-flow-role",
                     default=env("SPARKIFY_EMR_JOB_FLOW_ROLE", "EMR_EC2_DefaultRole"),
                     help="EC2 instance profile of the nodes")
    emr.add_argument("--no-thrift-step", action="store_true",
                     help="do not add the step that starts the Spark Thrift server")
    emr.add_argument("--timeout", type=float, default=env("SPARKIFY_EMR_TIMEOUT", "1800"),
                     help="seconds `up` waits for the cluster (default 1800)")
    emr.add_argument("--cluster-id", default=None,
                     help="down: the cluster to terminate (default: every active "
                          f"{PROJECT} cluster)")
    emr.set_defaults(handler=cmd_emr)

    rs = commands.add_parser("redshift", help="Redshift cluster + IAM role for the redshift target")
    rs.add_argument("action", choices=ACTIONS)
    rs.add_argument("--cluster-id", default=env("SPARKIFY_REDSHIFT_CLUSTER_ID", PROJECT),
                    help=f"cluster identifier (default {PROJECT}); down deletes this one")
    rs.add_argument("--node-type", default=env("SPARKIFY_REDSHIFT_NODE_TYPE", "ra3.xlplus"),
                    help="ra3.xlplus (default), or dc2.large where still offered")
    rs.add_argument("--node-count", type=int, default=env("SPARKIFY_REDSHIFT_NODE_COUNT", "1"))
    rs.add_argument("--database", default=env("SPARKIFY_REDSHIFT_DATABASE", "sparkify"))
    rs.add_argument("--user", default=env("SPARKIFY_REDSHIFT_USER", "sparkify"),
                    help="master user; the password is read only from "
                         "DBT_ENV_SECRET_REDSHIFT_PASSWORD")
    rs.add_argument("--raw-uri", default=env("SPARKIFY_RAW_URI"),
                    help="s3://bucket/prefix the cluster's role may read (up)")
    rs.add_argument("--role-name", default=env("SPARKIFY_REDSHIFT_ROLE", DEFAULT_ROLE))
    rs.add_argument("--public", action="store_true",
                    default=_bool(env("SPARKIFY_REDSHIFT_PUBLIC")),
                    help="PubliclyAccessible=true (default false)")
    rs.add_argument("--subnet-group", default=env("SPARKIFY_REDSHIFT_SUBNET_GROUP"))
    rs.add_argument("--security-group", action="append", dest="security_groups",
                    default=None, help="VPC security group id, repeatable (default: "
                                       "SPARKIFY_REDSHIFT_SECURITY_GROUPS, comma-separated)")
    rs.add_argument("--timeout", type=float, default=env("SPARKIFY_REDSHIFT_TIMEOUT", "1800"),
                    help="seconds `up` waits for the cluster (default 1800)")
    rs.add_argument("--all", action="store_true",
                    help=f"down: delete every {PROJECT} cluster, not only --cluster-id")
    rs.add_argument("--delete-role", action="store_true",
                    help="down: also delete the project's IAM role")
    rs.set_defaults(handler=cmd_redshift)


def cmd_emr(args: argparse.Namespace) -> int:
    if args.action == "up":
        emr_up(EmrConfig(
            name=args.name, release_label=args.release,
            master_instance_type=args.instance_type,
            core_instance_type=args.core_instance_type or args.instance_type,
            core_count=args.core_count, subnet_id=args.subnet or None,
            key_pair=args.key_pair or None, log_uri=args.log_uri or None,
            service_role=args.service_role, job_flow_role=args.job_flow_role,
            start_thrift_server=not args.no_thrift_step, timeout=args.timeout,
        ))
    elif args.action == "status":
        _print_status("EMR", emr_status())
    else:
        emr_down(args.cluster_id or None)
    return 0


def cmd_redshift(args: argparse.Namespace) -> int:
    if args.action == "up":
        redshift_up(RedshiftConfig(
            cluster_id=args.cluster_id, node_type=args.node_type, node_count=args.node_count,
            database=args.database, user=args.user, raw_uri=args.raw_uri or None,
            role_name=args.role_name, publicly_accessible=args.public,
            subnet_group=args.subnet_group or None,
            security_group_ids=tuple(args.security_groups
                                     or _list(os.environ.get("SPARKIFY_REDSHIFT_SECURITY_GROUPS"))),
            timeout=args.timeout,
        ))
    elif args.action == "status":
        _print_status("Redshift", redshift_status())
    else:
        redshift_down(None if args.all else args.cluster_id,
                      delete_role=args.delete_role, role_name=args.role_name)
    return 0


def _print_status(service: str, clusters: list[ClusterInfo]) -> None:
    if not clusters:
        print(f"no {PROJECT} {service} clusters")
    for cluster in clusters:
        print(cluster.line())


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str | None) -> list[str]:
    return [item for item in (value or "").split(",") if item]
