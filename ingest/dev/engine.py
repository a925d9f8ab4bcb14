"""A warm engine for the dev loop: one process keeps the embedded Spark's JVM and runs each
`dbt build` in it (dbt's own runner, the session method picking up this process's session).

A plain `dbt build` starts a new JVM every time: it loads Spark's, Hive's and Hadoop's classes
again, parses their XML configuration again and compiles its hot code again, which is about
half of a build of the `make run` sample (BENCHMARKS.md, the dev loop). Here that start is
paid once, by the first build; every later build runs on classes already loaded and code
already compiled. The project's Thrift Server is a warm JVM too, but a statement there costs
more: it opens a Hive session per dbt node and, with its embedded metastore, builds a new
metastore store (a new HiveConf, Hadoop's XML files parsed again) for most statements.
While the state is small the session also takes ingest.spark.small_inputs' settings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.run.dbt import DbtOutcome, DbtVars, run_dbt, summarize_build
from ingest.spark.conf import SparkSetup
from ingest.spark.small_inputs import use_small_inputs


@dataclass(frozen=True)
class DevBuild:
    """One build of the warm engine: its number (from 1), how long it took, what it did, or
    why it failed."""

    number: int
    seconds: float
    outcome: DbtOutcome | None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome is not None

    def describe(self) -> str:
        if self.outcome is None:
            return f"build {self.number} failed after {self.seconds:.1f} s: {self.error}"
        done = self.outcome
        warned = f", {done.tests_warned} warned" if done.tests_warned else ""
        return (f"build {self.number}: {self.seconds:.1f} s, {done.models} models, "
                f"{done.seeds} seed(s), {done.tests_passed} tests passed{warned}")


@dataclass
class WarmEngine:
    """The embedded Spark of `state`, started once, and `dbt build` runs on it.

    `dbt_args`: what each build adds (`--select`, `--exclude`, `--target-path`, …);
    `variables`: the `--vars` each build gets (none: the profile's environment defaults,
    as a plain `dbt build`)."""

    state: StatePaths
    setup: SparkSetup
    project: Path
    dbt_args: Sequence[str] = ()
    variables: DbtVars | None = None
    builds: int = 0
    _session: Any = None

    def start(self) -> None:
        """Start the JVM (once): this process then holds the state's embedded Spark."""
        if self._session is None:
            from ingest.spark.session import spark_session

            self._session = spark_session(self.state, self.setup)
            use_small_inputs(self._session, self.state)

    def build(self, extra: Sequence[str] = ()) -> DevBuild:
        """One `dbt build` on the warm JVM; a failing build is reported, not raised."""
        self.start()
        self.builds += 1
        started = time.monotonic()
        try:
            results = run_dbt(self.project, ["build", *self.dbt_args, *extra], target="spark",
                              variables=self.variables)
        except IngestError as exc:
            return DevBuild(self.builds, time.monotonic() - started, None, str(exc))
        return DevBuild(self.builds, time.monotonic() - started, summarize_build(results))
