"""Load raw S3 objects into Redshift staging tables with server-side COPY.

The cluster reads S3 itself: `COPY … FROM '<manifest>' IAM_ROLE … FORMAT AS JSON
'<jsonpaths>' MANIFEST`. The manifest pins exactly the objects to load, so a file landing
while the COPY runs is not half-picked up, and the JSONPaths file maps the camelCase keys to
the columns by position (plain `'auto'` would load them as NULL).

Idempotency uses the same ledger as Postgres (see ingest.warehouse). New objects are
appended. COPY cannot tag rows with the object they came from, so when an object changed or
vanished the table is reloaded whole, in one transaction (DELETE, not TRUNCATE, which would
commit on its own): rare, and always correct.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingest.errors import IngestError
from ingest.ledger import (
    COLUMNS,
    LEDGER,
    QUARANTINE,
    LedgerEntry,
    LedgerStore,
    TablePlan,
    plan_table,
)
from ingest.raw_format import RAW_TABLES, Columns, validate_identifier
from ingest.sources import RawObject, S3Location, S3Source, aws_errors, require_raw_layout
from ingest.warehouse import (
    ConnectionSettings,
    column_name,
    connect,
    now_utc,
    qualified,
    setup_statements,
    transaction,
)

log = logging.getLogger(__name__)
IAM_ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
LEDGER_ROWS_PER_INSERT = 500


@dataclass(frozen=True)
class CopySettings:
    """What the cluster needs to read S3: its role, the bucket's region, where manifests go."""

    iam_role: str
    region: str
    load_files: S3Location

    def __post_init__(self) -> None:
        if not IAM_ROLE_ARN.match(self.iam_role):
            raise IngestError(
                f"--iam-role {self.iam_role!r} is not an IAM role ARN "
                "(arn:aws:iam::<12-digit account>:role/<name>)"
            )
        if not REGION.match(self.region):
            raise IngestError(f"--region {self.region!r} is not an AWS region (e.g. us-west-2)")


@dataclass(frozen=True)
class RedshiftLoad:
    """The whole load: files to put in S3 (URI → text) and one transaction of statements."""

    plans: tuple[TablePlan, ...]
    files: dict[str, str]
    statements: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not self.statements


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def jsonpaths(columns: Columns) -> str:
    """The JSONPaths file: one path per column, in the COPY column list's order."""
    return json.dumps({"jsonpaths": [f"$['{name}']" for name, _kind in columns]}, indent=2)


def manifest(source: S3Location, objects: Sequence[RawObject]) -> str:
    """A COPY manifest listing exactly `objects`, each mandatory."""
    entries = [
        {"url": f"s3://{source.bucket}/{source.key(obj.key)}", "mandatory": True,
         "meta": {"content_length": obj.size}}
        for obj in objects
    ]
    return json.dumps({"entries": entries}, indent=2)


def copy_statement(schema: str, table: str, manifest_uri: str, jsonpaths_uri: str,
                   settings: CopySettings) -> str:
    columns = RAW_TABLES[table]
    names = ", ".join(column_name(name) for name, _kind in columns)
    options = [
        f"from {sql_string(manifest_uri)}",
        f"iam_role {sql_string(settings.iam_role)}",
        f"format as json {sql_string(jsonpaths_uri)}",
        "manifest",
        f"region {sql_string(settings.region)}",
    ]
    if any(kind == "bigint" for _name, kind in columns):
        # the epoch-ms `ts` stays a bigint (exact ms, the same on every engine); should a
        # column be declared as timestamp, COPY reads epoch milliseconds into it
        options.append("timeformat 'epochmillisecs'")
    options += ["statupdate off", "compupdate off"]
    return f"copy {qualified(schema, table)} ({names})\n" + "\n".join(options)


def plan_load(schema: str, source: S3Location, listing: dict[str, list[RawObject]],
              ledger: dict[tuple[str, str], LedgerEntry], settings: CopySettings,
              run_id: str) -> RedshiftLoad:
    """Manifests, JSONPaths and statements to bring the raw tables in line with `source`."""
    validate_identifier(schema)
    files: dict[str, str] = {}
    statements: list[str] = []
    plans = []
    loaded_at = now_utc()
    base = settings.load_files
    for table, objects in listing.items():
        plan = plan_table(table, objects, source.uri, ledger)
        plans.append(plan)
        if plan.is_empty:
            continue
        to_copy: Sequence[RawObject] = plan.process
        if plan.stale:
            statements.append(f"delete from {qualified(schema, table)}")
            statements += [
                f"delete from {qualified(schema, name)} where table_name = {sql_string(table)}"
                for name in (LEDGER, QUARANTINE)
            ]
            to_copy = objects
        if to_copy:
            manifest_uri = f"s3://{base.bucket}/{base.key(f'{run_id}/{table}.manifest')}"
            jsonpaths_uri = f"s3://{base.bucket}/{base.key(f'jsonpaths/{table}.jsonpaths')}"
            files[manifest_uri] = manifest(source, to_copy)
            files[jsonpaths_uri] = jsonpaths(RAW_TABLES[table])
            statements.append(copy_statement(schema, table, manifest_uri, jsonpaths_uri,
                                             settings))
            rows = [LedgerEntry(table, obj.key, source.uri, obj.fingerprint, obj.size, "loaded",
                                loaded_at, loaded_at).values() for obj in to_copy]
            statements += _ledger_inserts(schema, rows)
    return RedshiftLoad(tuple(plans), files, tuple(statements))


def _ledger_inserts(schema: str, rows: Sequence[tuple[Any, ...]]) -> list[str]:
    statements = []
    for start in range(0, len(rows), LEDGER_ROWS_PER_INSERT):
        values = ",\n    ".join(
            "(" + ", ".join(_literal(value) for value in row) + ")"
            for row in rows[start:start + LEDGER_ROWS_PER_INSERT]
        )
        statements.append(
            f"insert into {qualified(schema, LEDGER)} ({', '.join(COLUMNS)}) values\n"
            f"    {values}"
        )
    return statements


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    return sql_string(str(value))


def default_load_files(source_uri: str) -> str:
    return source_uri.rstrip("/") + "/_sparkify_loads"


def stage_redshift(source_uri: str, *, schema: str, iam_role: str, region: str,
                   load_files_uri: str | None = None,
                   settings: ConnectionSettings | None = None, connection: Any | None = None,
                   s3: Any | None = None, dry_run: bool = False) -> RedshiftLoad:
    """Plan from the ledger, put the manifests in S3, run the COPY transaction.

    With `dry_run`, only the ledger is read (it may be any warehouse holding it); the
    manifests and statements are printed and nothing is written.
    """
    validate_identifier(schema)
    if not source_uri.startswith("s3://"):
        raise IngestError("--target redshift needs an s3:// source: the cluster reads S3 itself")
    copy_settings = CopySettings(iam_role, region,
                                 S3Location.parse(load_files_uri or default_load_files(source_uri)))
    source = S3Source(source_uri, client=s3)
    listing = require_raw_layout(source)
    owned = connection is None
    connection = connection or connect(settings or ConnectionSettings.from_env("redshift"))
    try:
        with transaction(connection) as cursor:
            if not dry_run:
                for statement in setup_statements(schema, "redshift"):
                    cursor.execute(statement)
            ledger = LedgerStore("redshift", schema).read(cursor)
        run_id = now_utc().strftime("%Y%m%dT%H%M%S%fZ")
        load = plan_load(schema, source.location, listing, ledger, copy_settings, run_id)
        _report(schema, load)
        if dry_run:
            _print_load(load)
            return load
        if load.is_empty:
            return load
        put_load_files(source.client, load.files)
        with transaction(connection) as cursor:
            for statement in load.statements:
                cursor.execute(statement)
        log.info("committed the load of %s (%d statements)", schema, len(load.statements))
        return load
    finally:
        if owned:
            connection.close()


def put_load_files(client: Any, files: dict[str, str]) -> None:
    """Write manifests and JSONPaths to S3 before the COPY that reads them."""
    for uri, text in files.items():
        location = S3Location.parse(uri)
        with aws_errors(f"writing {uri}"):
            client.put_object(Bucket=location.bucket, Key=location.prefix,
                              Body=text.encode("utf-8"), ContentType="application/json")


def _report(schema: str, load: RedshiftLoad) -> None:
    for plan in load.plans:
        if plan.stale:
            log.info("%s.%s: %d objects changed or vanished: the table is reloaded whole",
                     schema, plan.table, len(plan.stale))
        else:
            log.info("%s.%s: %d new objects, %d already loaded",
                     schema, plan.table, len(plan.process), plan.unchanged)
    if load.is_empty:
        log.info("nothing new to load")


def _print_load(load: RedshiftLoad) -> None:
    for uri, text in load.files.items():
        print(f"-- {uri}\n{text}\n")
    for statement in load.statements:
        print(statement + ";\n")
