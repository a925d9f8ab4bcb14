"""Where the project and its generated state live (absolute paths, whatever the cwd)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ingest.settings import ProjectSettings

# dbt overwrites target/run_results.json with every command, `docs generate` included: the
# pipeline keeps the build's copy under this name, for the dashboard's pipeline health.
BUILD_RESULTS = "run_results.build.json"


def project_root(configured: Path | None = None) -> Path:
    """The folder holding dbt_project.yml: `configured` (SPARKIFY_PROJECT_DIR, resolved by
    the CLI), else the package's parent, else the cwd."""
    if configured:
        return configured.resolve()
    package_parent = Path(__file__).resolve().parents[1]
    if (package_parent / "dbt_project.yml").is_file():
        return package_parent
    return Path.cwd().resolve()


def dbt_target_dir(configured: Path | None, project: Path) -> Path:
    """dbt's target folder: `configured` (DBT_TARGET_PATH, which dbt reads too), else
    `<project>/target`."""
    return configured.resolve() if configured else project / "target"


@dataclass(frozen=True)
class StatePaths:
    """Every generated file lives below one ignored folder (default `<project>/.state`)."""

    root: Path
    # The Spark folder (warehouse, Derby metastore) below root; the Thrift Server has its own.
    spark_dirname: str = "spark"

    @classmethod
    def of(cls, project: ProjectSettings) -> StatePaths:
        """SPARKIFY_STATE_DIR, else `<project>/.state` (the settings resolved by the CLI)."""
        configured = project.state_dir
        return cls(configured.resolve() if configured else
                   project_root(project.project_dir) / ".state")

    @property
    def spark(self) -> Path:
        return self.root / self.spark_dirname

    @property
    def thrift_server(self) -> StatePaths:
        """The same state, with the local Thrift Server's own warehouse and metastore.

        `<root>/spark-thrift/{warehouse,metastore_db}`: Derby admits one JVM at a time, so with
        it the server never shares the embedded Spark's metastore; with the Postgres metastore
        it does (see ingest/spark/thrift_server.py).
        """
        return replace(self, spark_dirname="spark-thrift")

    @property
    def session(self) -> StatePaths:
        """The same state with the embedded Spark's own folder (`<root>/spark`)."""
        return replace(self, spark_dirname="spark")

    @property
    def warehouse(self) -> Path:
        return self.spark / "warehouse"

    @property
    def metastore(self) -> Path:
        return self.spark / "metastore_db"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def streams(self) -> Path:
        """The checkpoints of streaming queries (ingest.stream.query), one folder each."""
        return self.root / "streams"

    @property
    def locks(self) -> Path:
        """Lock files: one per stage target, one for scheduled cycles (ingest.locks)."""
        return self.root / "locks"

    @property
    def sample(self) -> Path:
        return self.root / "sample"
