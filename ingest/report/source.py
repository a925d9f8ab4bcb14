"""Where the dashboard and `ingest report` read: one target's marts, ledger and last build.

The edge (ingest.report.commands.report_source, for the CLI and the dashboard) resolves it
from the settings (ingest.settings): SPARKIFY_TARGET (default `spark`: the embedded Spark's
warehouse files), SPARKIFY_SCHEMA (the marts), SPARKIFY_RAW_SCHEMA (a warehouse's ledger),
SPARKIFY_STATE_DIR (the Spark warehouse and landing) and DBT_TARGET_PATH (run_results.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.paths import StatePaths
from ingest.raw.contract import validate_schema_name
from ingest.report.health import BuildResults, LedgerSnapshot, last_build, read_ledger
from ingest.report.readers import Reader, open_reader
from ingest.warehouse import ConnectionSettings


@dataclass(frozen=True)
class ReportSource:
    """One target's marts (`schema`), ledger (`raw_schema`), state and dbt target folder;
    both schema names checked."""

    target: str
    schema: str
    raw_schema: str
    state: StatePaths
    target_dir: Path
    warehouse: ConnectionSettings | None = None  # a warehouse target's connection

    def __post_init__(self) -> None:
        validate_schema_name(self.schema, "schema (SPARKIFY_SCHEMA)")
        validate_schema_name(self.raw_schema, "raw schema (SPARKIFY_RAW_SCHEMA)")

    def reader(self) -> Reader:
        return open_reader(self.target, self.schema, self.state, self.warehouse)

    def ledger(self) -> LedgerSnapshot:
        return read_ledger(self.target, self.raw_schema, self.state, self.warehouse)

    def build(self) -> BuildResults | None:
        return last_build(self.target_dir)
