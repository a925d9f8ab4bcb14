"""The batch DAGs run by Airflow (`airflow dags test`) on Postgres, from a moto S3 bucket.

`sparkify_daily`, for one generated day whose log object holds a malformed line: the line is
quarantined and the DAG succeeds, the marts equal the contract's answer, and a second run of
the same day changes nothing; a build that fails fails the run after one `dbt build`.
`sparkify_every_10_minutes`: a cycle builds the marts, the next one, with nothing new, is a
skipped task that started no dbt.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from ingest.raw.upload import upload
from ingest.sample.generate import GenerateConfig, generate
from tests.support.airflow import Airflow, migrated, requires_airflow
from tests.support.cross_engine import Export, export_marts
from tests.support.expected_marts import build_expected_marts, canonical
from tests.support.project import PROJECT_DIR, postgres_rows

pytestmark = [pytest.mark.airflow, pytest.mark.aws, pytest.mark.postgres, requires_airflow]
SOURCE = "s3://raw-bucket/sparkify"
MALFORMED = '{"ts": 1541290000000, "userId": "39", "page": "NextSong", "artist": oops}'


@pytest.fixture()
def airflow(tmp_path: Path, s3_endpoint: str, pg_database: str) -> Iterator[Airflow]:
    yield migrated(tmp_path / "airflow", sparkify_target="postgres", sparkify_source=SOURCE)


def marts(database: str) -> Export:
    return export_marts(lambda mart: postgres_rows(database, f"select * from sparkify.{mart}"))


def uploaded_day(folder: Path, *, songs: int, events: int, seed: int) -> Path:
    """One generated day (2018-11-03) in `folder`, uploaded to SOURCE."""
    generate(folder, GenerateConfig(songs=songs, days=1, events_per_day=events, seed=seed,
                                    start_date=dt.date(2018, 11, 3)))
    upload(folder, SOURCE)
    return folder


def expected_marts(raw: Path) -> Export:
    expected = build_expected_marts(raw, PROJECT_DIR / "seeds" / "us_states.csv")
    return {mart: canonical(rows) for mart, rows in expected.items()}


def dags_test(airflow: Airflow, day: str) -> str:
    result = airflow.run("dags", "test", "sparkify_daily", day, timeout=600)
    output = result.stdout + result.stderr
    assert "state=success" in output or "state=DagRunState.SUCCESS" in output, output[-4000:]
    return output


def test_daily_dag_builds_the_marts_quarantines_bad_lines_and_reruns_idempotently(
        airflow: Airflow, pg_database: str, tmp_path: Path) -> None:
    raw = uploaded_day(tmp_path / "raw", songs=30, events=150, seed=16)
    # the day's object in the bucket also holds one malformed line
    log = next((raw / "log_data").rglob("2018-11-03-events.json"))
    key = "sparkify/log_data/2018/11/2018-11-03-events.json"
    body = log.read_text(encoding="utf-8").rstrip("\n") + "\n" + MALFORMED + "\n"
    boto3.client("s3").put_object(Bucket="raw-bucket", Key=key, Body=body.encode())

    dags_test(airflow, "2018-11-03")
    first = marts(pg_database)
    assert first == expected_marts(raw)
    assert first["fct_songplays"]
    quarantine = "select object_key, raw_line from sparkify_raw._quarantined_lines"
    assert postgres_rows(pg_database, quarantine) == [{"object_key": key.removeprefix(
        "sparkify/"), "raw_line": MALFORMED}]
    ledger = postgres_rows(pg_database, "select status from sparkify_raw._loaded_objects "
                                        "where object_key like '%2018-11-03-events.json'")
    assert ledger == [{"status": "quarantined"}]

    # the same day again: nothing new, the same marts, no row rewritten, nothing re-quarantined
    versions = "select xmin::text as version from sparkify.fct_songplays order by songplay_id"
    before = postgres_rows(pg_database, versions)
    dags_test(airflow, "2018-11-03")
    assert marts(pg_database) == first
    assert postgres_rows(pg_database, versions) == before
    assert len(postgres_rows(pg_database, quarantine)) == 1


def test_ten_minute_cycle_builds_then_skips_when_nothing_is_new(
        airflow: Airflow, pg_database: str, tmp_path: Path) -> None:
    raw = uploaded_day(tmp_path / "raw", songs=20, events=100, seed=10)

    first = airflow.run("dags", "test", "sparkify_every_10_minutes", "2018-11-03T00:10:00")
    assert marts(pg_database) == expected_marts(raw)
    assert "state=success" in first.stdout + first.stderr

    started = time.monotonic()
    second = airflow.run("dags", "test", "sparkify_every_10_minutes", "2018-11-03T00:20:00")
    output = second.stdout + second.stderr
    assert "nothing new since the last successful build" in output
    assert "Bash command returned exit code 99. Skipping." in output
    assert "new_state=skipped" in output, output[-3000:]
    assert time.monotonic() - started < 60


def test_a_failed_build_fails_the_run_after_one_dbt_build(
        airflow: Airflow, pg_database: str, tmp_path: Path) -> None:
    """Watcher mode: the one `dbt build` fails at a model (its table exists with another
    schema, `on_schema_change='fail'`); the run fails, no node task runs dbt by itself, the
    model's task never runs, and nothing after the group (docs, freshness gate) runs."""
    from tests.support.project import postgres_connect

    uploaded_day(tmp_path / "raw", songs=20, events=100, seed=12)
    connection = postgres_connect(pg_database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("create schema sparkify_intermediate")
            cursor.execute("create table sparkify_intermediate.int_events__deduplicated (odd int)")
    finally:
        connection.close()

    result = airflow.run("dags", "test", "sparkify_daily", "2018-11-03", timeout=600,
                         check=False)
    output = result.stdout + result.stderr
    assert "state=failed" in output or "state=DagRunState.FAILED" in output, output[-4000:]
    assert "ERROR creating sql incremental model sparkify_intermediate.int_events__deduplicated" \
        in output
    started = [line.split("starting task_id=", 1)[1].split()[0] for line in output.splitlines()
               if "[DAG TEST] starting task_id=" in line]
    assert "dbt.int_events__deduplicated.run" not in started
    assert not {"docs", "freshness_gate"} & set(started)
    builds = [line for line in output.splitlines()
              if "Running with dbt=" in line and '"log_version"' not in line]
    assert len(builds) == 1, builds  # the producer's; no node task fell back to its own dbt
    # as a plain `dbt build`: what depends on the failed model is skipped, the rest is built
    marts = ("select table_name from information_schema.tables "
             "where table_schema = 'sparkify' order by table_name")
    assert postgres_rows(pg_database, marts) == [{"table_name": "dim_artists"},
                                                 {"table_name": "dim_songs"}]
