"""The raw tables of a Postgres or Redshift raw schema, and their load ledger: the DDL.

The raw tables hold one column per raw field (lower-cased, as both engines fold unquoted
names). The ledger (ingest.ledger.store) lives next to the raw tables and is written in the
same transactions, so it can never say "loaded" about rows that are not there.
Connections are ingest.warehouse's.
"""

from __future__ import annotations

from ingest.ledger.store import LedgerStore
from ingest.raw.contract import INGESTED_AT, PROVENANCE, RAW_TABLES, SOURCE_KEY, Columns
from ingest.sql_names import qualified, validate_identifier
from ingest.warehouse import Dialect

_TYPES: dict[Dialect, dict[str, str]] = {
    "postgres": {"int": "integer", "bigint": "bigint", "double": "double precision",
                 "string": "text"},
    "redshift": {"int": "integer", "bigint": "bigint", "double": "double precision",
                 "string": "varchar(max)"},
}


def column_name(raw_field: str) -> str:
    """The warehouse column of a raw field: lower case, as unquoted SQL names fold."""
    return validate_identifier(raw_field.lower())


def load_columns(table: str) -> list[str]:
    """The columns a load fills, in the order its rows hold them: the raw fields, then the
    provenance (COPY's column list, for Postgres and Redshift alike)."""
    return [*(column_name(name) for name, _kind in RAW_TABLES[table]),
            *(name for name, _kind in PROVENANCE)]


def raw_table_ddl(schema: str, table: str, dialect: Dialect) -> str:
    """`create table if not exists` for one raw table; Redshift staging is `backup no`."""
    columns: Columns = RAW_TABLES[table]
    lines = [f"{column_name(name)} {_TYPES[dialect][kind]}" for name, kind in columns]
    key_type = "text" if dialect == "postgres" else "varchar(1024)"
    lines += [f"{SOURCE_KEY} {key_type} not null", f"{INGESTED_AT} timestamp not null"]
    body = ",\n    ".join(lines)
    suffix = "\nbackup no" if dialect == "redshift" else ""
    return f"create table if not exists {qualified(schema, table)} (\n    {body}\n){suffix}"


def setup_statements(schema: str, dialect: Dialect) -> list[str]:
    """Schema, both raw tables and the ledger; safe to run again."""
    return [
        f'create schema if not exists "{validate_identifier(schema)}"',
        *(raw_table_ddl(schema, table, dialect) for table in RAW_TABLES),
        *LedgerStore(dialect, schema).ddl(),
        # reprocessing an object deletes its rows by key: keep that proportional to the object
        *(f"create index if not exists {validate_identifier(table + '__source_key')} "
          f"on {qualified(schema, table)} ({SOURCE_KEY})"
          for table in RAW_TABLES if dialect == "postgres"),
    ]
