"""Readers: run the report's SQL on the marts, wherever a target built them.

- `postgres` and `redshift`: the warehouse, through the connection settings the stage and the
  dbt profile use (SPARKIFY_PG_* / SPARKIFY_REDSHIFT_*).
- `spark` (the embedded Spark) and `spark_thrift` (the local Thrift Server): no JVM at all.
  DuckDB reads the marts' parquet files in the Spark warehouse folder
  (`<warehouse>/<schema>.db/<model>/`, daily partitions as `start_date=…` folders).

A reader names only the models the query module declares (`ingest.report.models`): any
other raises, so the app cannot read a model the exposure does not list.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.report.models import MODELS_READ
from ingest.sql_names import qualified, validate_identifier
from ingest.warehouse import ConnectionSettings, connect, dialect_of

Row = tuple[Any, ...]
SPARK_TARGETS = ("spark", "spark_thrift")
WAREHOUSE_TARGETS = ("postgres", "redshift")
TARGETS = (*SPARK_TARGETS, *WAREHOUSE_TARGETS)


class Reader(Protocol):
    """Runs one select on the marts; `relation(model)` is how its SQL names a mart."""

    target: str

    @property
    def where(self) -> str: ...

    def relation(self, model: str) -> str: ...

    def rows(self, sql: str) -> list[Row]: ...

    def close(self) -> None: ...


def declared(model: str) -> str:
    """`model`, if the query module declares it (ingest.report.models.MODELS_READ)."""
    if model not in MODELS_READ:
        raise IngestError(f"the report reads only {', '.join(MODELS_READ)}, not {model!r}: "
                          "declare it in ingest/report/models.py and in the exposure")
    return model


def plain(value: Any) -> Any:
    """Numbers as int or float whatever the driver returns (Decimal, numpy), dates as dates."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | str | int | float) or value is None:
        return value
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else value


@dataclass
class WarehouseReader:
    """The marts of `schema` on PostgreSQL or Redshift."""

    settings: ConnectionSettings
    schema: str
    target: str = ""
    _connection: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.target = self.target or self.settings.dialect
        validate_identifier(self.schema)

    @property
    def where(self) -> str:
        return f"{self.settings.where}, schema {self.schema}"

    def relation(self, model: str) -> str:
        return qualified(self.schema, declared(model))

    def rows(self, sql: str) -> list[Row]:
        if self._connection is None:
            self._connection = connect(self.settings)
            self._connection.autocommit = True
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql)
            return [tuple(plain(value) for value in row) for row in cursor.fetchall()]
        except Exception as exc:
            raise IngestError(f"query on {self.where} failed: {_first_line(exc)} "
                              "(are the marts built? `dbt build` on this target)") from exc
        finally:
            with suppress(Exception):
                cursor.close()

    def close(self) -> None:
        if self._connection is not None:
            with suppress(Exception):
                self._connection.close()
            self._connection = None


@dataclass
class ParquetReader:
    """The marts of `schema` in a Spark warehouse folder, read by DuckDB (no JVM)."""

    warehouse: Path
    schema: str
    target: str = "spark"
    _connection: Any = field(default=None, repr=False)

    @property
    def folder(self) -> Path:
        return self.warehouse / f"{validate_identifier(self.schema)}.db"

    @property
    def where(self) -> str:
        return f"{self.target}: the parquet files in {self.folder} (DuckDB)"

    def files(self, model: str) -> list[Path]:
        """One mart's parquet files (`data_files`); IngestError when it was never built."""
        folder = self.folder / declared(model)
        found = data_files(folder)
        if not found:
            raise IngestError(f"no parquet files of {self.schema}.{model} in {folder}: build "
                              "the marts first (make run), or set SPARKIFY_SCHEMA, "
                              "SPARKIFY_STATE_DIR or SPARKIFY_TARGET")
        return found

    def relation(self, model: str) -> str:
        files = ", ".join("'" + str(path).replace("'", "''") + "'"
                          for path in self.files(model))
        return f"read_parquet([{files}], hive_partitioning = true)"

    def rows(self, sql: str) -> list[Row]:
        if self._connection is None:
            import duckdb

            self._connection = duckdb.connect(":memory:")
            self._connection.execute("set TimeZone = 'UTC'")
        try:
            result = self._connection.execute(sql).fetchall()
        except Exception as exc:
            raise IngestError(f"query on {self.where} failed: {_first_line(exc)}") from exc
        return [tuple(plain(value) for value in row) for row in result]

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def data_files(table: Path) -> list[Path]:
    """The parquet files of a Spark table's folder, sorted. Folders and files whose names
    start with `_` or `.` are Spark's work in progress (`_temporary/`, `.spark-staging-…`) or
    its bookkeeping: never listed. A folder removed while it is listed (a partition being
    replaced) is skipped (os.walk ignores it); a missing table has no files."""
    found: list[Path] = []
    for folder, subfolders, names in os.walk(table):
        subfolders[:] = [name for name in subfolders if not name.startswith(("_", "."))]
        found += [Path(folder) / name for name in names
                  if name.endswith(".parquet") and not name.startswith(("_", "."))]
    return sorted(found)


def open_reader(target: str, schema: str, state: StatePaths,
                warehouse_settings: ConnectionSettings | None = None) -> Reader:
    """The reader of `target`'s marts in `schema` (IngestError for a target it cannot read):
    the parquet files of `state`'s Spark warehouse, or the database of `warehouse_settings`
    (the warehouse targets' connection, resolved by the CLI)."""
    validate_identifier(schema)
    if target in WAREHOUSE_TARGETS:
        return WarehouseReader(require_settings(target, warehouse_settings), schema, target)
    if target in SPARK_TARGETS:
        warehouse = (state.thrift_server if target == "spark_thrift" else state).warehouse
        return ParquetReader(warehouse, schema, target)
    raise IngestError(f"the report cannot read target {target!r}: one of {', '.join(TARGETS)}")


def require_settings(target: str, settings: ConnectionSettings | None) -> ConnectionSettings:
    """The connection of a warehouse target; IngestError when the caller resolved none."""
    if settings is None:
        raise IngestError(f"target {target!r} needs its warehouse connection settings "
                          f"({dialect_of(target)})")
    return settings


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def one_row(rows: Sequence[Row]) -> Row:
    if len(rows) != 1:
        raise IngestError(f"expected one row, got {len(rows)}")
    return rows[0]
