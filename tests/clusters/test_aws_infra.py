"""EMR and Redshift lifecycles against a real moto server on 127.0.0.1 (boto3 over HTTP)."""

from __future__ import annotations

import argparse
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from ingest.clusters.commands import add_commands
from ingest.clusters.common import ClusterInfo
from ingest.clusters.emr import EmrConfig, emr_down, emr_status, emr_up
from ingest.clusters.redshift import (
    DEFAULT_ROLE,
    POLICY_NAME,
    RedshiftConfig,
    raw_read_policy,
    redshift_down,
    redshift_status,
    redshift_up,
)
from ingest.errors import IngestError
from ingest.raw.sources import S3Location
from ingest.settings import EmrSettings, RedshiftClusterSettings, RedshiftSettings

pytestmark = pytest.mark.aws

REGION = "us-west-2"
PASSWORD = "Sup3r-Secret-Pw-42"
RAW_URI = "s3://sparkify-raw/raw"
PROJECT_TAGS = {"project": "sparkify-dbt", "sparkify:name": "sparkify-dbt"}
CONFIG_ENV = [
    "SPARKIFY_EMR_RELEASE", "SPARKIFY_EMR_INSTANCE_TYPE", "SPARKIFY_EMR_CORE_COUNT",
    "SPARKIFY_EMR_SUBNET", "SPARKIFY_EMR_KEY_PAIR", "SPARKIFY_EMR_LOG_URI", "SPARKIFY_EMR_NAME",
    "SPARKIFY_EMR_SERVICE_ROLE", "SPARKIFY_EMR_JOB_FLOW_ROLE", "SPARKIFY_EMR_TIMEOUT",
    "SPARKIFY_REDSHIFT_CLUSTER_ID", "SPARKIFY_REDSHIFT_NODE_TYPE", "SPARKIFY_REDSHIFT_NODE_COUNT",
    "SPARKIFY_REDSHIFT_DATABASE", "SPARKIFY_REDSHIFT_USER", "SPARKIFY_REDSHIFT_ROLE",
    "SPARKIFY_REDSHIFT_PUBLIC", "SPARKIFY_REDSHIFT_SUBNET_GROUP",
    "SPARKIFY_REDSHIFT_SECURITY_GROUPS", "SPARKIFY_REDSHIFT_TIMEOUT",
    "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3",
]


def emr_config(**given: Any) -> EmrConfig:
    """The config `emr up` builds: the SPARKIFY_EMR_* settings of the test's environment."""
    return EmrConfig.of(EmrSettings.read(), **given)


def redshift_up_from_settings(**given: Any) -> ClusterInfo:
    """`redshift up` as the CLI resolves it: the settings and the password variable."""
    warehouse = RedshiftSettings.read()
    config = RedshiftConfig.of(RedshiftClusterSettings.read(), warehouse, **given)
    return redshift_up(config, warehouse.password.get_secret_value()
                       if warehouse.password else None)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """One moto server on a free loopback port for the module (reset before every test)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # boto3's default session (used by ingest's clients) resolves credentials once: start
    # this module with a fresh one, so it takes the fake ones set below, and drop it after.
    saved, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, None
    try:
        yield f"http://{host}:{port}"
    finally:
        boto3.DEFAULT_SESSION = saved
        server.stop()


@pytest.fixture(autouse=True)
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Empty moto state, boto3 pointed at it with fake credentials, no SPARKIFY_* overrides."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    for name in CONFIG_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    # no user config or credentials file can leak in
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("SPARKIFY_RAW_URI", RAW_URI)
    monkeypatch.setenv("DBT_ENV_SECRET_REDSHIFT_PASSWORD", PASSWORD)
    return moto_endpoint


def client(service: str) -> Any:
    """A plain boto3 client (default session) for the test's own checks."""
    return boto3.client(service)  # type: ignore[call-overload]


def active_emr_ids() -> list[str]:
    states = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]
    clusters = client("emr").list_clusters(ClusterStates=states)["Clusters"]
    return sorted(c["Id"] for c in clusters)


def emr_state(cluster_id: str) -> str:
    return str(client("emr").describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"])


def foreign_emr_cluster(name: str = "someone-elses") -> str:
    response = client("emr").run_job_flow(
        Name=name, ReleaseLabel="emr-7.5.0",
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                   "KeepJobFlowAliveWhenNoSteps": True},
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
    )
    return str(response["JobFlowId"])


def foreign_redshift_cluster(cluster_id: str = "someone-elses") -> None:
    client("redshift").create_cluster(
        ClusterIdentifier=cluster_id, NodeType="ra3.xlplus", ClusterType="single-node",
        MasterUsername="admin", MasterUserPassword="Other-Pw-123",
    )


def redshift_ids() -> list[str]:
    clusters = client("redshift").describe_clusters()["Clusters"]
    return sorted(c["ClusterIdentifier"] for c in clusters)


def tags_of(tags: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags}


# --- EMR -------------------------------------------------------------------------------------


def test_emr_up_creates_a_tagged_spark_hive_cluster(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPARKIFY_EMR_KEY_PAIR", "my-key")
    monkeypatch.setenv("SPARKIFY_EMR_LOG_URI", "s3://sparkify-logs/emr/")
    monkeypatch.setenv("SPARKIFY_EMR_CORE_COUNT", "3")

    info = emr_up(emr_config())

    assert active_emr_ids() == [info.cluster_id]
    cluster = client("emr").describe_cluster(ClusterId=info.cluster_id)["Cluster"]
    assert {app["Name"] for app in cluster["Applications"]} == {"Spark", "Hive"}
    assert tags_of(cluster["Tags"]) == PROJECT_TAGS
    assert cluster["Name"] == "sparkify-dbt"
    assert cluster["ReleaseLabel"] == "emr-7.5.0"
    assert cluster["AutoTerminate"] is False
    assert cluster["Ec2InstanceAttributes"]["Ec2KeyName"] == "my-key"
    assert cluster["LogUri"] == "s3://sparkify-logs/emr/"
    assert cluster["ServiceRole"] == "EMR_DefaultRole"
    groups = client("emr").list_instance_groups(ClusterId=info.cluster_id)["InstanceGroups"]
    assert sorted((g["InstanceGroupType"], g["InstanceType"], g["RequestedInstanceCount"])
                  for g in groups) == [("CORE", "m5.xlarge", 3), ("MASTER", "m5.xlarge", 1)]
    assert info.state in {"WAITING", "RUNNING"}
    assert info.host and info.host == cluster["MasterPublicDnsName"]

    out = capsys.readouterr().out
    assert f"{info.host}:10001" in out
    assert f"SPARKIFY_THRIFT_HOST={info.host}" in out
    assert "SPARKIFY_THRIFT_PORT=10001" in out
    assert "testing" not in out  # no credentials


def test_emr_up_twice_keeps_one_cluster() -> None:
    first = emr_up(emr_config())
    second = emr_up(emr_config())

    assert second.cluster_id == first.cluster_id
    assert active_emr_ids() == [first.cluster_id]


def test_emr_up_does_not_reuse_an_untagged_cluster_of_the_same_name() -> None:
    foreign = foreign_emr_cluster(name="sparkify-dbt")

    info = emr_up(emr_config())

    assert info.cluster_id != foreign
    assert active_emr_ids() == sorted([foreign, info.cluster_id])


def test_emr_status_lists_only_the_projects_clusters() -> None:
    foreign_emr_cluster()
    assert emr_status() == []

    info = emr_up(emr_config())

    assert [c.cluster_id for c in emr_status()] == [info.cluster_id]
    assert emr_status()[0].port == 10001


def test_emr_down_refuses_a_foreign_cluster() -> None:
    mine = emr_up(emr_config()).cluster_id
    foreign = foreign_emr_cluster()

    with pytest.raises(IngestError, match=rf"{foreign} .*not a sparkify-dbt cluster"):
        emr_down(foreign)

    assert emr_state(foreign) == "WAITING"
    assert emr_state(mine) in {"WAITING", "RUNNING"}


def test_emr_down_refuses_an_unknown_cluster() -> None:
    mine = emr_up(emr_config()).cluster_id

    with pytest.raises(IngestError, match=r"j-DOESNOTEXIST does not exist.*nothing terminated"):
        emr_down("j-DOESNOTEXIST")

    assert active_emr_ids() == [mine]


def test_emr_down_terminates_only_the_projects_clusters(
        capsys: pytest.CaptureFixture[str]) -> None:
    mine = emr_up(emr_config()).cluster_id
    other_mine = emr_up(emr_config(name="sparkify-dbt-2")).cluster_id
    foreign = foreign_emr_cluster()

    assert emr_down(mine) == [mine]
    assert emr_state(mine) == "TERMINATED"
    assert emr_down(None) == [other_mine]
    assert emr_state(other_mine) == "TERMINATED"
    assert emr_state(foreign) == "WAITING"
    out = capsys.readouterr().out
    assert f"terminating EMR cluster {mine}" in out
    assert f"terminating EMR cluster {other_mine}" in out

    assert emr_down(None) == []
    assert "nothing to terminate" in capsys.readouterr().out


def test_emr_down_by_name_terminates_only_that_name(
        capsys: pytest.CaptureFixture[str]) -> None:
    transient = emr_up(emr_config(name="sparkify-dbt-transient")).cluster_id
    kept = emr_up(emr_config()).cluster_id
    foreign = foreign_emr_cluster("sparkify-dbt-transient")  # same name, not the project's

    assert emr_down(name="sparkify-dbt-transient") == [transient]
    assert emr_state(transient) == "TERMINATED"
    assert (emr_state(kept), emr_state(foreign)) == ("WAITING", "WAITING")
    assert emr_down(name="sparkify-dbt-transient") == []
    assert "named 'sparkify-dbt-transient': nothing to terminate" in capsys.readouterr().out


# --- Redshift --------------------------------------------------------------------------------


def test_redshift_up_creates_cluster_role_and_least_privilege_policy(
        capsys: pytest.CaptureFixture[str]) -> None:
    info = redshift_up_from_settings()

    cluster = client("redshift").describe_clusters(ClusterIdentifier="sparkify-dbt")["Clusters"][0]
    assert tags_of(cluster["Tags"]) == PROJECT_TAGS
    assert cluster["PubliclyAccessible"] is False
    assert cluster["DBName"] == "sparkify"
    assert cluster["MasterUsername"] == "sparkify"
    assert cluster["ClusterStatus"] == "available"

    iam = client("iam")
    role = iam.get_role(RoleName=DEFAULT_ROLE)["Role"]
    assert [r["IamRoleArn"] for r in cluster["IamRoles"]] == [role["Arn"]]
    assert info.iam_roles == (role["Arn"],)
    trust = role["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "redshift.amazonaws.com"}]
    assert [s["Action"] for s in trust["Statement"]] == ["sts:AssumeRole"]
    assert tags_of(iam.list_role_tags(RoleName=DEFAULT_ROLE)["Tags"])["project"] == "sparkify-dbt"

    assert iam.list_role_policies(RoleName=DEFAULT_ROLE)["PolicyNames"] == [POLICY_NAME]
    assert iam.list_attached_role_policies(RoleName=DEFAULT_ROLE)["AttachedPolicies"] == []
    document = iam.get_role_policy(RoleName=DEFAULT_ROLE, PolicyName=POLICY_NAME)["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    grants = sorted((s["Effect"], s["Action"], s["Resource"], json.dumps(s.get("Condition")))
                    for s in document["Statement"])
    assert grants == [
        ("Allow", "s3:GetObject", "arn:aws:s3:::sparkify-raw/raw/*", "null"),
        ("Allow", "s3:ListBucket", "arn:aws:s3:::sparkify-raw",
         json.dumps({"StringLike": {"s3:prefix": ["raw/*"]}})),
    ]

    out = capsys.readouterr().out
    assert f"SPARKIFY_REDSHIFT_HOST={cluster['Endpoint']['Address']}" in out
    assert "SPARKIFY_REDSHIFT_PORT=5439" in out
    assert "SPARKIFY_REDSHIFT_DATABASE=sparkify" in out
    assert "SPARKIFY_REDSHIFT_USER=sparkify" in out
    assert f"SPARKIFY_IAM_ROLE={role['Arn']}" in out
    assert PASSWORD not in out


def test_redshift_up_twice_creates_nothing_twice() -> None:
    first = redshift_up_from_settings()
    second = redshift_up_from_settings()

    assert second.cluster_id == first.cluster_id
    assert second.iam_roles == first.iam_roles
    assert redshift_ids() == ["sparkify-dbt"]
    roles = [r["RoleName"] for r in client("iam").list_roles()["Roles"]]
    assert roles.count(DEFAULT_ROLE) == 1
    assert [c.cluster_id for c in redshift_status()] == ["sparkify-dbt"]


def test_redshift_up_without_password_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBT_ENV_SECRET_REDSHIFT_PASSWORD")

    with pytest.raises(IngestError, match="DBT_ENV_SECRET_REDSHIFT_PASSWORD is not set"):
        redshift_up_from_settings()

    assert redshift_ids() == []
    assert client("iam").list_roles()["Roles"] == []


def test_redshift_up_without_raw_uri_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPARKIFY_RAW_URI")

    with pytest.raises(IngestError, match="SPARKIFY_RAW_URI"):
        redshift_up_from_settings()
    assert redshift_ids() == []


def test_redshift_password_is_never_printed_or_logged(
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="botocore")  # request bodies would carry it

    redshift_up_from_settings()
    redshift_up_from_settings()
    redshift_status()
    redshift_down("sparkify-dbt", delete_role=True)

    captured = capsys.readouterr()
    assert PASSWORD not in captured.out
    assert PASSWORD not in captured.err
    assert any(r.name.startswith("botocore") for r in caplog.records)  # the check means something
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in str(r.args) for r in caplog.records)


def test_redshift_error_messages_never_carry_the_password() -> None:
    from ingest.clusters.redshift import _secret_kept_out

    with pytest.raises(IngestError) as raised, _secret_kept_out(PASSWORD):
        raise IngestError(f"creating the cluster: InvalidParameterValue: bad {PASSWORD}")
    assert PASSWORD not in str(raised.value)
    assert "********" in str(raised.value)


def test_redshift_up_refuses_to_adopt_a_foreign_cluster() -> None:
    foreign_redshift_cluster("sparkify-dbt")

    with pytest.raises(IngestError, match="not a sparkify-dbt cluster"):
        redshift_up_from_settings()
    assert client("iam").list_roles()["Roles"] == []


def test_redshift_down_refuses_a_foreign_cluster() -> None:
    redshift_up_from_settings()
    foreign_redshift_cluster()

    with pytest.raises(IngestError, match="someone-elses is not a sparkify-dbt cluster"):
        redshift_down("someone-elses", delete_role=True)
    with pytest.raises(IngestError, match="no-such-cluster does not exist"):
        redshift_down("no-such-cluster")

    assert redshift_ids() == ["someone-elses", "sparkify-dbt"]
    assert client("iam").get_role(RoleName=DEFAULT_ROLE)["Role"]["RoleName"] == DEFAULT_ROLE


def test_redshift_down_deletes_the_projects_cluster_and_optionally_its_role(
        capsys: pytest.CaptureFixture[str]) -> None:
    redshift_up_from_settings()
    redshift_up_from_settings(cluster_id="sparkify-dbt-2")
    foreign_redshift_cluster()

    assert redshift_down("sparkify-dbt") == ["sparkify-dbt"]
    assert redshift_ids() == ["someone-elses", "sparkify-dbt-2"]
    assert client("iam").get_role(RoleName=DEFAULT_ROLE)  # kept without delete_role

    assert redshift_down(None, delete_role=True) == ["sparkify-dbt-2"]
    assert redshift_ids() == ["someone-elses"]
    assert client("iam").list_roles()["Roles"] == []
    out = capsys.readouterr().out
    assert "deleting Redshift cluster sparkify-dbt " in out
    assert f"deleted IAM role {DEFAULT_ROLE}" in out


def test_redshift_down_refuses_to_delete_a_foreign_role() -> None:
    redshift_up_from_settings()
    client("iam").create_role(RoleName="someone-elses-role", AssumeRolePolicyDocument="{}")

    with pytest.raises(IngestError, match="someone-elses-role exists but is not tagged"):
        redshift_down(None, delete_role=True, role_name="someone-elses-role")

    assert redshift_ids() == ["sparkify-dbt"]  # refused before deleting anything
    assert client("iam").get_role(RoleName="someone-elses-role")


def test_raw_read_policy_without_a_prefix_covers_the_bucket_only() -> None:
    policy = raw_read_policy(S3Location.parse("s3://sparkify-raw"))
    resources = sorted(s["Resource"] for s in policy["Statement"])
    assert resources == ["arn:aws:s3:::sparkify-raw", "arn:aws:s3:::sparkify-raw/*"]


# --- CLI -------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    built = argparse.ArgumentParser(prog="sparkify-ingest")
    add_commands(built.add_subparsers(dest="command", required=True))
    return built


def run(*argv: str) -> int:
    args = parser().parse_args(list(argv))
    code: int = args.handler(args)
    return code


def test_cli_emr_and_redshift_lifecycles(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPARKIFY_EMR_SUBNET", "subnet-0123")
    monkeypatch.setenv("SPARKIFY_EMR_CORE_COUNT", "1")
    assert parser().parse_args(["emr", "status"]).subnet == "subnet-0123"

    assert run("emr", "up", "--name", "cli-cluster", "--instance-type", "m5.2xlarge") == 0
    (cluster_id,) = active_emr_ids()
    cluster = client("emr").describe_cluster(ClusterId=cluster_id)["Cluster"]
    assert cluster["Name"] == "cli-cluster"
    assert cluster["Ec2InstanceAttributes"]["Ec2SubnetId"] == "subnet-0123"
    groups = client("emr").list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
    assert sorted((g["InstanceGroupType"], g["InstanceType"], g["RequestedInstanceCount"])
                  for g in groups) == [("CORE", "m5.2xlarge", 1), ("MASTER", "m5.2xlarge", 1)]
    assert run("emr", "status") == 0
    assert cluster_id in capsys.readouterr().out
    assert run("emr", "down") == 0
    assert emr_state(cluster_id) == "TERMINATED"

    assert run("redshift", "up", "--cluster-id", "cli-warehouse", "--node-count", "2",
               "--raw-uri", "s3://other-raw/landing") == 0
    cluster = client("redshift").describe_clusters(ClusterIdentifier="cli-warehouse")["Clusters"][0]
    assert cluster["NumberOfNodes"] == 2
    document = client("iam").get_role_policy(
        RoleName=DEFAULT_ROLE, PolicyName=POLICY_NAME)["PolicyDocument"]
    assert "arn:aws:s3:::other-raw/landing/*" in json.dumps(document)
    assert run("redshift", "status") == 0
    assert "cli-warehouse" in capsys.readouterr().out
    assert run("redshift", "down", "--cluster-id", "cli-warehouse", "--delete-role") == 0
    assert redshift_ids() == []
    assert client("iam").list_roles()["Roles"] == []
    assert PASSWORD not in capsys.readouterr().out
