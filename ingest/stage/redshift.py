"""Load raw S3 objects into Redshift staging tables with server-side COPY: a sink of the
staging core (ingest.stage.core), which verifies every object first, as for every target.

For each batch, the verified lines (the contract's fields plus `_source_key` and
`_ingested_at`) are written to `<load files>/verified/<key>`, a manifest pins exactly those
files, and one transaction deletes the batch's objects' rows (by `_source_key`), runs
`COPY … FROM '<manifest>' IAM_ROLE … FORMAT AS JSON '<jsonpaths>' MANIFEST` and records the
objects in the ledger. The JSONPaths file maps the camelCase keys to the columns by position
(plain `'auto'` would load them as NULL). A changed object replaces only its own rows.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.aws import aws_errors
from ingest.errors import IngestError
from ingest.ledger.db import now_utc, transaction
from ingest.ledger.store import LEDGER, QUARANTINE, LedgerStore
from ingest.paths import StatePaths
from ingest.raw.contract import PROVENANCE, RAW_TABLES, SOURCE_KEY, Columns
from ingest.raw.sources import RawSource, S3Location, S3Source, SourceLocation
from ingest.sql_names import qualified, sql_string, validate_identifier
from ingest.stage.core import (
    Ledger,
    Rendered,
    StageOptions,
    StageReport,
    json_lines,
    stage,
)
from ingest.stage.process import Processed
from ingest.stage.warehouse_tables import load_columns, setup_statements

log = logging.getLogger(__name__)
IAM_ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


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


@dataclass
class RedshiftLoad:
    """What a stage wrote (or, dry, would write): S3 files (URI → text) and statements."""

    report: StageReport | None = None
    files: dict[str, str] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.statements


def jsonpaths(columns: Columns) -> str:
    """The JSONPaths file: one path per column, in the COPY column list's order."""
    paths = [f"$['{name}']" for name, _kind in columns + PROVENANCE]
    return json.dumps({"jsonpaths": paths}, indent=2)


def manifest(files: Sequence[tuple[str, int]]) -> str:
    """A COPY manifest listing exactly `files` (URI, size), each mandatory."""
    entries = [{"url": uri, "mandatory": True, "meta": {"content_length": size}}
               for uri, size in files]
    return json.dumps({"entries": entries}, indent=2)


def copy_statement(schema: str, table: str, manifest_uri: str, jsonpaths_uri: str,
                   settings: CopySettings) -> str:
    columns = RAW_TABLES[table]
    names = ", ".join(load_columns(table))
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


def default_load_files(source: S3Location) -> S3Location:
    """Where manifests and verified files go unless --load-files says: below the source."""
    return S3Location(source.bucket, source.key("_sparkify_loads"))


class RedshiftSink:
    """Verified files in S3, then delete + COPY + ledger in one transaction per batch."""

    @staticmethod
    def render(table: str, item: Processed) -> list[str]:
        return json_lines(table, item)

    def __init__(self, connection: Any, schema: str, settings: CopySettings, s3: Any, *,
                 dry_run: bool, where: str) -> None:
        self.connection = connection
        self.schema = schema
        self.settings = settings
        self.s3 = s3
        self.dry_run = dry_run
        self.name = f"{where}, schema {schema}"
        self.store = LedgerStore("redshift", schema)
        self.load = RedshiftLoad()
        self.run_id = now_utc().strftime("%Y%m%dT%H%M%S%fZ")
        self.batches = 0

    def prepare(self) -> None:
        if self.dry_run:  # the ledger may be any warehouse's that holds it: create nothing
            return
        with transaction(self.connection) as cursor:
            for statement in setup_statements(self.schema, "redshift"):
                cursor.execute(statement)

    def read_ledger(self) -> Ledger:
        with transaction(self.connection) as cursor:
            return self.store.read(cursor)

    def repair(self, ledger: Ledger) -> Ledger:
        return ledger  # rows and ledger commit in one transaction: nothing to settle

    def commit(self, table: str, batch: Sequence[Rendered[list[str]]],
               removed: Sequence[str]) -> None:
        base = self.settings.load_files
        self.batches += 1
        files: dict[str, str] = {}
        for item, lines in batch:
            if lines:
                files[f"s3://{base.bucket}/{base.key('verified/' + item.entry.key)}"] = (
                    "\n".join(lines) + "\n")
        keys = [item.entry.key for item, _lines in batch] + list(removed)
        statements = [f"delete from {qualified(self.schema, name)} where {column} in "
                      f"({', '.join(sql_string(key) for key in keys)})"
                      for name, column in ((table, SOURCE_KEY), (LEDGER, "object_key"),
                                           (QUARANTINE, "object_key"))]
        statements[1:] = [f"{text} and table_name = {sql_string(table)}"
                          for text in statements[1:]]
        if files:
            manifest_uri = (f"s3://{base.bucket}/"
                            f"{base.key(f'{self.run_id}/{table}-{self.batches}.manifest')}")
            jsonpaths_uri = f"s3://{base.bucket}/{base.key(f'jsonpaths/{table}.jsonpaths')}"
            files[manifest_uri] = manifest([(uri, len(text.encode()))
                                            for uri, text in files.items()])
            files[jsonpaths_uri] = jsonpaths(RAW_TABLES[table])
            statements.append(copy_statement(self.schema, table, manifest_uri, jsonpaths_uri,
                                             self.settings))
        self.load.files.update(files)
        self.load.statements += statements
        if self.dry_run:
            return
        put_load_files(self.s3, files)
        with transaction(self.connection) as cursor:
            for statement in statements:
                cursor.execute(statement)
            self.store.write(cursor, [item for item, _lines in batch], now_utc())

    def mark_archived(self, table: str, keys: Sequence[str]) -> None:
        with transaction(self.connection) as cursor:
            self.store.mark_archived(cursor, table, keys, now_utc())

    def row_counts(self) -> dict[str, int]:
        with transaction(self.connection) as cursor:
            cursor.execute(f"select table_name, coalesce(sum(rows_loaded), 0) from "
                           f"{qualified(self.schema, LEDGER)} group by table_name")
            rows = {str(name): int(total) for name, total in cursor.fetchall()}
        return {table: rows.get(table, 0) for table in RAW_TABLES}


@dataclass(frozen=True)
class RedshiftOptions:
    """The CLI's --iam-role, --region and --load-files-uri, as given (None: not given)."""

    iam_role: str | None = None
    region: str | None = None
    load_files_uri: str | None = None

    def copy_settings(self, source: SourceLocation) -> CopySettings:
        """What the cluster needs to COPY from `source` (an s3:// one), checked before
        anything runs."""
        if not self.iam_role:
            raise IngestError("--target redshift needs --iam-role (or SPARKIFY_IAM_ROLE): the "
                              "ARN of the role the cluster uses to read the bucket")
        if not self.region:
            raise IngestError("--target redshift needs --region (or AWS_REGION): the bucket's")
        if not isinstance(source, S3Location):
            raise IngestError("--target redshift needs an s3:// source: the cluster reads S3 "
                              "itself")
        load_files = S3Location.parse(self.load_files_uri) if self.load_files_uri else None
        return CopySettings(self.iam_role, self.region,
                            load_files or default_load_files(source))


def stage_redshift(source: RawSource, *, schema: str, copy: CopySettings, connection: Any,
                   where: str, state: StatePaths, options: StageOptions,
                   dry_run: bool = False) -> RedshiftLoad:
    """Verify what is new, put verified files and manifests in S3, COPY them batch by batch.

    With `dry_run`, objects are read and verified and the ledger is read (it may be any
    warehouse holding it), but nothing is written: the files and statements are printed.
    """
    validate_identifier(schema)
    if not isinstance(source, S3Source):
        raise IngestError("--target redshift needs an s3:// source: the cluster reads S3 itself")
    sink = RedshiftSink(connection, schema, copy, source.client, dry_run=dry_run, where=where)
    report = stage(source, sink, options, locks=state.locks,
                   lock_identity=("redshift", where, schema))
    sink.load.report = report
    if dry_run:
        _print_load(sink.load)
    return sink.load


def put_load_files(client: Any, files: dict[str, str]) -> None:
    """Write manifests and JSONPaths to S3 before the COPY that reads them."""
    for uri, text in files.items():
        location = S3Location.parse(uri)
        with aws_errors(f"writing {uri}"):
            client.put_object(Bucket=location.bucket, Key=location.prefix,
                              Body=text.encode("utf-8"), ContentType="application/json")


def _print_load(load: RedshiftLoad) -> None:
    for uri, text in load.files.items():
        print(f"-- {uri}\n{text}\n")
    for statement in load.statements:
        print(statement + ";\n")
    if load.is_empty:
        print("-- nothing new to load")
