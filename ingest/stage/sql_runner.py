"""What registering the raw tables needs of Spark: something that runs one SQL statement.

The embedded SparkSession and the Thrift Server's client (`ThriftSql`) both qualify; the
stage needs nothing else of either, so neither is imported here.
"""

from __future__ import annotations

from typing import Any, Protocol


class SqlResult(Protocol):
    """The rows of one statement (a Spark DataFrame, a fetched Thrift result)."""

    def collect(self) -> list[Any]:
        """Every row; a row is indexable by column position."""
        ...


class SqlRunner(Protocol):
    """Runs one Spark SQL statement (`spark.sql(statement)`)."""

    def sql(self, statement: str, /) -> SqlResult: ...
