"""The Spark SQL that (re)creates the raw tables and their partitions: statements only.

Nothing here runs anything (ingest.stage.spark_register does, ingest.stage.spark says when).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ingest.errors import IngestError
from ingest.raw.contract import LOG_COLUMNS, PROVENANCE, SONG_COLUMNS
from ingest.sql_names import quote_identifier, quote_string
from ingest.stage.landing.format import PARTITION_COLUMN, partition_value

Location = Literal["local", "direct"]
TABLE_NAMES = ("song_data", "log_data")


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, str], ...]
    location: str
    options: tuple[tuple[str, str], ...] = ()
    file_format: Literal["json", "parquet"] = "json"
    partitioned_by: tuple[str, ...] = ()


def table_ddl(schema: str, table: TableSpec) -> list[str]:
    """Statements that (re)create one external table; the data itself is never touched."""
    qualified = f"{quote_identifier(schema)}.{quote_identifier(table.name)}"
    columns = ",\n    ".join(f"{quote_identifier(name)} {kind}" for name, kind in table.columns)
    clauses = [f"using {table.file_format}"]
    if table.options:
        options = ", ".join(f"{quote_string(key)} {quote_string(value)}"
                            for key, value in table.options)
        clauses.append(f"options ({options})")
    if table.partitioned_by:
        clauses.append("partitioned by ("
                       + ", ".join(quote_identifier(name) for name in table.partitioned_by)
                       + ")")
    clauses.append(f"location {quote_string(table.location)}")
    return [
        f"drop table if exists {qualified}",
        f"create table {qualified} (\n    {columns}\n)\n" + "\n".join(clauses),
    ]


def raw_tables(song_location: str, log_location: str,
               location: Location = "local") -> list[TableSpec]:
    """The raw fields, plus the provenance the verified landing adds (null when direct).

    local: parquet over the landing, the log table partitioned by `event_date`; direct:
    JSON over the raw objects (no `event_date`: the staging model computes it).
    """
    if location == "local":
        return [
            TableSpec("song_data", SONG_COLUMNS + PROVENANCE, song_location,
                      file_format="parquet"),
            TableSpec("log_data", LOG_COLUMNS + PROVENANCE + ((PARTITION_COLUMN, "date"),),
                      log_location, file_format="parquet", partitioned_by=(PARTITION_COLUMN,)),
        ]
    strict = (("mode", "FAILFAST"), ("multiLine", "false"))
    recursive = (("recursiveFileLookup", "true"), ("pathGlobFilter", "*.json"))
    return [
        TableSpec("song_data", SONG_COLUMNS + PROVENANCE, song_location, strict + recursive),
        TableSpec("log_data", LOG_COLUMNS + PROVENANCE, log_location, strict + recursive),
    ]


def schema_ddl(schema: str, song_location: str, log_location: str,
               location: Location = "local") -> list[str]:
    statements = [f"create database if not exists {quote_identifier(schema)}"]
    for table in raw_tables(song_location, log_location, location):
        statements += table_ddl(schema, table)
    return statements


def partition_ddl(schema: str, added: Sequence[str], dropped: Sequence[str]) -> list[str]:
    """Statements that add and drop `event_date` partitions of the log table (folder names
    `event_date=YYYY-MM-DD`; the null partition Spark names itself)."""
    qualified = f"{quote_identifier(schema)}.{quote_identifier('log_data')}"
    statements = []
    if added:
        statements.append(f"alter table {qualified} add if not exists "
                          + " ".join(_partition_spec(name) for name in added))
    if dropped:
        statements.append(f"alter table {qualified} drop if exists "
                          + ", ".join(_partition_spec(name) for name in dropped))
    return statements


def _partition_spec(folder: str) -> str:
    day = partition_value(folder)
    if day is None:
        raise IngestError(f"not a date partition of the log table: {folder!r}")
    return f"partition ({quote_identifier(PARTITION_COLUMN)} = {quote_string(day.isoformat())})"

