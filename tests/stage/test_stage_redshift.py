"""Redshift COPY path: statements, manifests and JSONPaths as text; the ledger on Postgres.

There is no cluster here. Everything but the COPY itself runs for real: the S3 listing on a
moto endpoint, the staging core's read and verification of each object, the ledger (read
from a Postgres database staged by the Postgres path, since both keep the same ledger), and
the upload of verified files and manifests.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.aws import s3_client
from ingest.errors import IngestError
from ingest.ledger.store import LedgerStore
from ingest.paths import StatePaths
from ingest.raw.contract import LOG_COLUMNS
from ingest.raw.sources import S3Location, S3Source, parse_source
from ingest.raw.upload import upload
from ingest.stage.core import StageOptions
from ingest.stage.redshift import (
    CopySettings,
    RedshiftOptions,
    copy_statement,
    jsonpaths,
    put_load_files,
    stage_redshift,
)
from ingest.stage.warehouse_tables import raw_table_ddl
from tests.support.project import FIXTURES, postgres_connect
from tests.support.raw_lines import BAD_LINES, log_with_bad_lines
from tests.support.staging import stage_postgres

RAW = FIXTURES / "raw_handwritten"
ROLE = "arn:aws:iam::123456789012:role/sparkify-redshift-copy"
SETTINGS = CopySettings(ROLE, "us-west-2", S3Location("raw-bucket", "loads"))


def test_copy_statement_has_every_redshift_piece() -> None:
    statement = copy_statement("sparkify_raw", "log_data", "s3://b/loads/1/log_data.manifest",
                               "s3://b/loads/jsonpaths/log_data.jsonpaths", SETTINGS)
    lines = statement.splitlines()
    assert lines[0].startswith('copy "sparkify_raw"."log_data" (artist, auth, firstname, gender,')
    assert lines[1:] == [
        "from 's3://b/loads/1/log_data.manifest'",
        f"iam_role '{ROLE}'",
        "format as json 's3://b/loads/jsonpaths/log_data.jsonpaths'",
        "manifest",
        "region 'us-west-2'",
        "timeformat 'epochmillisecs'",
        "statupdate off",
        "compupdate off",
    ]
    assert "blanksasnull" not in statement and "emptyasnull" not in statement  # "" stays ""


def test_jsonpaths_follow_the_copy_column_order_with_the_raw_camel_case_keys() -> None:
    paths = json.loads(jsonpaths(LOG_COLUMNS))["jsonpaths"]
    statement = copy_statement("raw", "log_data", "s3://b/m", "s3://b/j", SETTINGS)
    columns = statement.split("(", 1)[1].split(")", 1)[0].split(", ")
    assert len(paths) == len(columns) == 18 + 2
    assert columns[-2:] == ["_source_key", "_ingested_at"]
    for path, column in zip(paths, columns, strict=True):
        key = path.removeprefix("$['").removesuffix("']")
        assert key.lower() == column
    assert "$['firstName']" in paths and "$['userAgent']" in paths


def test_redshift_raw_tables_and_ledger_are_backup_no() -> None:
    songs = raw_table_ddl("sparkify_raw", "song_data", "redshift")
    assert songs.endswith(")\nbackup no")
    assert "artist_name varchar(max)" in songs and "duration double precision" in songs
    assert "_source_key varchar(1024) not null" in songs
    assert "_ingested_at timestamp not null" in songs
    assert all(ddl.endswith(")\nbackup no") for ddl in LedgerStore("redshift", "raw").ddl())
    assert "backup no" not in raw_table_ddl("sparkify_raw", "song_data", "postgres")


@pytest.mark.parametrize(
    ("role", "region", "source", "message"),
    [
        ("arn:aws:iam::123:role/x", "us-west-2", "s3://raw-bucket/raw", "not an IAM role ARN"),
        (ROLE + "'; drop table x; --", "us-west-2", "s3://raw-bucket/raw", "not an IAM role"),
        (ROLE, "us-west-2' --", "s3://raw-bucket/raw", "not an AWS region"),
        (ROLE, "us-west-2", str(RAW), "needs an s3:// source"),
    ],
)
def test_bad_settings_are_refused_before_anything_runs(
    role: str, region: str, source: str, message: str
) -> None:
    with pytest.raises(IngestError, match=message):
        RedshiftOptions(role, region).copy_settings(parse_source(source))


@pytest.fixture()
def ledger_connection(pg_database: str, s3_endpoint: str) -> Iterator[Any]:
    """The raw fixture in moto S3, staged into Postgres: its ledger is what Redshift reads."""
    upload(RAW, "s3://raw-bucket/raw")
    stage_postgres("s3://raw-bucket/raw")
    connection = postgres_connect(pg_database)
    yield connection
    connection.close()


def _dry_run(connection: Any, state: Path) -> Any:
    source = S3Location.parse("s3://raw-bucket/raw")
    copy = RedshiftOptions(ROLE, "us-west-2", "s3://raw-bucket/loads").copy_settings(source)
    return stage_redshift(S3Source(source), schema="sparkify_raw", copy=copy,
                          connection=connection, where="redshift", state=StatePaths(state),
                          options=StageOptions(), dry_run=True)


def _manifest_urls(load: Any, table: str) -> list[str]:
    (text,) = [text for uri, text in load.files.items() if uri.endswith(".manifest")
               and f"/{table}-" in uri]
    return [entry["url"] for entry in json.loads(text)["entries"]]


def test_nothing_is_planned_when_the_ledger_has_every_object(
    ledger_connection: Any, tmp_path: Path
) -> None:
    load = _dry_run(ledger_connection, tmp_path)
    assert load.is_empty and load.files == {}


def test_a_new_object_is_verified_and_copied_from_a_manifest_pinning_exactly_it(
    ledger_connection: Any, tmp_path: Path
) -> None:
    key = "raw/log_data/2018/11/2018-11-03-events.json"
    good = log_with_bad_lines(dt.date(2018, 11, 3), 1000, BAD_LINES)
    s3_client().put_object(Bucket="raw-bucket", Key=key, Body=good)

    load = _dry_run(ledger_connection, tmp_path)

    verified = "s3://raw-bucket/loads/verified/log_data/2018/11/2018-11-03-events.json"
    assert _manifest_urls(load, "log_data") == [verified]
    rows = [json.loads(line) for line in load.files[verified].splitlines()]
    assert len(rows) == 995, "the five bad lines are quarantined, not sent to the cluster"
    assert {row["_source_key"] for row in rows} == {"log_data/2018/11/2018-11-03-events.json"}
    delete_rows, delete_ledger, delete_quarantine, copy = load.statements
    assert delete_rows == ('delete from "sparkify_raw"."log_data" where _source_key in '
                           "('log_data/2018/11/2018-11-03-events.json')")
    assert delete_ledger.startswith('delete from "sparkify_raw"."_loaded_objects"')
    assert delete_quarantine.startswith('delete from "sparkify_raw"."_quarantined_lines"')
    assert copy.startswith('copy "sparkify_raw"."log_data"')
    assert "format as json 's3://raw-bucket/loads/jsonpaths/log_data.jsonpaths'" in copy
    ledger = postgres_rows_of(ledger_connection, "select count(*) from "
                              "sparkify_raw._loaded_objects where object_key like '%11-03%'")
    assert ledger == [(0,)], "a dry run records nothing"


def test_a_changed_object_replaces_only_its_own_rows(
    ledger_connection: Any, tmp_path: Path
) -> None:
    client = s3_client()
    songs = client.list_objects_v2(Bucket="raw-bucket", Prefix="raw/song_data/")["Contents"]
    changed = songs[0]["Key"]
    body = client.get_object(Bucket="raw-bucket", Key=changed)["Body"].read()
    client.put_object(Bucket="raw-bucket", Key=changed, Body=body + b" ")

    load = _dry_run(ledger_connection, tmp_path)

    key = changed.removeprefix("raw/")
    assert load.statements[0] == (
        f"""delete from "sparkify_raw"."song_data" where _source_key in ('{key}')""")
    assert _manifest_urls(load, "song_data") == [f"s3://raw-bucket/loads/verified/{key}"]
    assert not any("log_data" in statement for statement in load.statements)


def postgres_rows_of(connection: Any, sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def test_load_files_are_written_to_s3(s3_endpoint: str) -> None:
    files = {"s3://raw-bucket/loads/1/log_data.manifest": '{"entries": []}',
             "s3://raw-bucket/loads/jsonpaths/log_data.jsonpaths": jsonpaths(LOG_COLUMNS)}
    put_load_files(s3_client(), files)
    for uri, text in files.items():
        location = S3Location.parse(uri)
        body = s3_client().get_object(Bucket=location.bucket, Key=location.prefix)["Body"]
        assert body.read().decode() == text
