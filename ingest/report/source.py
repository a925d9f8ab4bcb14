"""Where the dashboard and `ingest report` read: one target's marts, ledger and last build.

The settings decide (ingest.settings): SPARKIFY_TARGET (default `spark`: the embedded Spark's
warehouse files), SPARKIFY_SCHEMA (the marts), SPARKIFY_RAW_SCHEMA (a warehouse's ledger),
SPARKIFY_STATE_DIR (the Spark warehouse and landing) and DBT_TARGET_PATH (run_results.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.paths import StatePaths, dbt_target_dir
from ingest.raw.contract import validate_schema_name
from ingest.report.health import BuildResults, LedgerSnapshot, last_build, read_ledger
from ingest.report.readers import Reader, open_reader
from ingest.settings import RunSettings, StageSettings


@dataclass(frozen=True)
class ReportSource:
    target: str
    schema: str
    raw_schema: str
    state: StatePaths
    target_dir: Path

    @classmethod
    def from_settings(cls, *, target: str | None = None, schema: str | None = None,
                      raw_schema: str | None = None) -> ReportSource:
        """The settings' values, unless given."""
        staging = StageSettings.read()
        return cls(
            target=target or staging.target,
            schema=validate_schema_name(schema or RunSettings.read().schema_name,
                                        "schema (SPARKIFY_SCHEMA)"),
            raw_schema=validate_schema_name(raw_schema or staging.raw_schema,
                                            "raw schema (SPARKIFY_RAW_SCHEMA)"),
            state=StatePaths.default(), target_dir=dbt_target_dir())

    def reader(self) -> Reader:
        return open_reader(self.target, self.schema, self.state)

    def ledger(self) -> LedgerSnapshot:
        return read_ledger(self.target, self.raw_schema, self.state)

    def build(self) -> BuildResults | None:
        return last_build(self.target_dir)
