"""`sparkify_emr_transient` run by Airflow against the moto server (the EMR control plane):
the cluster is created, tagged and terminated, also when a middle task fails."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.support.airflow import Airflow, migrated, requires_airflow

pytestmark = [pytest.mark.airflow, pytest.mark.aws, requires_airflow]
SOURCE = "s3://raw-bucket/sparkify"


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    return migrated(tmp_path_factory.mktemp("airflow"))


def clusters() -> list[dict[str, Any]]:
    """Every cluster moto knows (any state): name, state, tags."""
    emr: Any = boto3.client("emr")
    found = []
    for summary in emr.list_clusters()["Clusters"]:
        cluster = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
        found.append({"name": cluster["Name"], "state": cluster["Status"]["State"],
                      "tags": {tag["Key"]: tag["Value"] for tag in cluster.get("Tags", [])}})
    return found


def run_emr_dag(airflow: Airflow, day: str, **conf: Any) -> str:
    result = airflow.run("dags", "test", "sparkify_emr_transient", day, "-c",
                         json.dumps({"source": SOURCE, **conf}), check=False)
    return result.stdout + result.stderr


def test_rehearsal_creates_a_tagged_cluster_and_terminates_it(
        airflow: Airflow, s3_endpoint: str) -> None:
    output = run_emr_dag(airflow, "2018-11-03", rehearsal=True)

    assert "state=success" in output, output[-5000:]
    assert clusters() == [{"name": "sparkify-dbt-20181103t000000", "state": "TERMINATED",
                           "tags": {"project": "sparkify-dbt",
                                    "sparkify:name": "sparkify-dbt-20181103t000000"}}]
    # the rehearsal's stage printed the DDL of tables that read the bucket directly
    assert "location 's3://raw-bucket/sparkify/log_data'" in output


def test_a_failed_middle_task_still_terminates_the_cluster(
        airflow: Airflow, s3_endpoint: str) -> None:
    # no rehearsal: the stage connects to the cluster's Thrift server, which moto has not
    output = run_emr_dag(airflow, "2018-11-04")

    assert "state=failed" in output, output[-5000:]
    assert "cannot open a session on the Spark Thrift Server" in output
    [cluster] = clusters()
    assert (cluster["name"], cluster["state"]) == ("sparkify-dbt-20181104t000000", "TERMINATED")
    assert cluster["tags"]["project"] == "sparkify-dbt"
