"""`emr` and `redshift` sub-commands: up / status / down for the project's AWS clusters.

The work happens in `ingest.clusters.emr` and `ingest.clusters.redshift`; this module only
turns command-line options into their configs. Every default is a setting
(ingest.settings.EmrSettings, RedshiftClusterSettings, RedshiftSettings).
"""

from __future__ import annotations

import argparse

from ingest.clusters.common import PROJECT, ClusterInfo
from ingest.clusters.emr import EmrConfig, emr_down, emr_status, emr_up
from ingest.clusters.redshift import (
    PASSWORD_ENV,
    RedshiftConfig,
    redshift_down,
    redshift_status,
    redshift_up,
)
from ingest.setting_options import checked
from ingest.settings import EmrSettings, RedshiftClusterSettings, RedshiftSettings

ACTIONS = ("up", "status", "down")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `emr` and `redshift` (each: up | status | down) on a subparsers object."""
    _add_emr(commands)
    _add_redshift(commands)


def _add_emr(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    settings = EmrSettings.read()
    emr = commands.add_parser(
        "emr", help="EMR cluster (Spark + Hive, Spark Thrift server) for the spark_thrift target")
    emr.add_argument("action", choices=ACTIONS)
    emr.add_argument("--name", default=None,
                     help=f"up: the cluster's name (default {settings.name}); down: only "
                          "the active project clusters of this name")
    emr.add_argument("--release", type=checked(EmrSettings, "release"), default=settings.release)
    emr.add_argument("--instance-type", type=checked(EmrSettings, "instance_type"),
                     default=settings.instance_type,
                     help=f"master and core instance type (default {settings.instance_type})")
    emr.add_argument("--core-instance-type", default=None,
                     help="core nodes only (default: --instance-type)")
    emr.add_argument("--core-count", type=checked(EmrSettings, "core_count"),
                     default=settings.core_count)
    emr.add_argument("--subnet", type=checked(EmrSettings, "subnet"), default=settings.subnet,
                     help="EC2 subnet id")
    emr.add_argument("--key-pair", type=checked(EmrSettings, "key_pair"), default=settings.key_pair,
                     help="EC2 key pair")
    emr.add_argument("--log-uri", type=checked(EmrSettings, "log_uri"), default=settings.log_uri,
                     help="s3://… for logs")
    emr.add_argument("--service-role", type=checked(EmrSettings, "service_role"),
                     default=settings.service_role)
    emr.add_argument("--job-flow-role", type=checked(EmrSettings, "job_flow_role"),
                     default=settings.job_flow_role,
                     help="EC2 instance profile of the nodes")
    emr.add_argument("--no-thrift-step", action="store_true",
                     help="do not add the step that starts the Spark Thrift server")
    emr.add_argument("--timeout", type=checked(EmrSettings, "timeout"), default=settings.timeout,
                     help=f"seconds `up` waits for the cluster (default {settings.timeout:.0f})")
    emr.add_argument("--cluster-id", default=None,
                     help="down: the cluster to terminate (default: every active "
                          f"{PROJECT} cluster)")
    emr.set_defaults(handler=cmd_emr)


def _add_redshift(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    settings, warehouse = RedshiftClusterSettings.read(), RedshiftSettings.read()
    rs = commands.add_parser("redshift", help="Redshift cluster + IAM role for the redshift target")
    rs.add_argument("action", choices=ACTIONS)
    rs.add_argument("--cluster-id", type=checked(RedshiftClusterSettings, "cluster_id"),
                    default=settings.cluster_id,
                    help=f"cluster identifier (default {settings.cluster_id}); down deletes "
                         "this one")
    rs.add_argument("--node-type", type=checked(RedshiftClusterSettings, "node_type"),
                    default=settings.node_type,
                    help=f"{settings.node_type} (default), or dc2.large where still offered")
    rs.add_argument("--node-count", type=checked(RedshiftClusterSettings, "node_count"),
                    default=settings.node_count)
    rs.add_argument("--database", type=checked(RedshiftSettings, "database"),
                    default=warehouse.database)
    rs.add_argument("--user", type=checked(RedshiftSettings, "user"), default=warehouse.user,
                    help=f"master user; the password is read only from {PASSWORD_ENV}")
    rs.add_argument("--raw-uri", type=checked(RedshiftClusterSettings, "raw_uri"),
                    default=settings.raw_uri,
                    help="s3://bucket/prefix the cluster's role may read (up)")
    rs.add_argument("--role-name", type=checked(RedshiftClusterSettings, "role_name"),
                    default=settings.role_name)
    rs.add_argument("--public", action="store_true", default=settings.public,
                    help="PubliclyAccessible=true (default false)")
    rs.add_argument("--subnet-group", type=checked(RedshiftClusterSettings, "subnet_group"),
                    default=settings.subnet_group)
    rs.add_argument("--security-group", action="append", dest="security_groups",
                    default=None, help="VPC security group id, repeatable (default: "
                                       "SPARKIFY_REDSHIFT_SECURITY_GROUPS, comma-separated)")
    rs.add_argument("--timeout", type=checked(RedshiftClusterSettings, "timeout"),
                    default=settings.timeout,
                    help=f"seconds `up` waits for the cluster (default {settings.timeout:.0f})")
    rs.add_argument("--all", action="store_true",
                    help=f"down: delete every {PROJECT} cluster, not only --cluster-id")
    rs.add_argument("--delete-role", action="store_true",
                    help="down: also delete the project's IAM role")
    rs.set_defaults(handler=cmd_redshift)


def cmd_emr(args: argparse.Namespace) -> int:
    if args.action == "up":
        emr_up(EmrConfig(
            name=args.name or EmrSettings.read().name, release_label=args.release,
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
        emr_down(args.cluster_id or None, args.name or None)
    return 0


def cmd_redshift(args: argparse.Namespace) -> int:
    if args.action == "up":
        groups = (tuple(args.security_groups) if args.security_groups
                  else RedshiftClusterSettings.read().security_groups)
        secret = RedshiftSettings.read().password
        redshift_up(RedshiftConfig(
            cluster_id=args.cluster_id, node_type=args.node_type, node_count=args.node_count,
            database=args.database, user=args.user, raw_uri=args.raw_uri or None,
            role_name=args.role_name, publicly_accessible=args.public,
            subnet_group=args.subnet_group or None, security_group_ids=groups,
            timeout=args.timeout,
        ), secret.get_secret_value() if secret else None)
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
