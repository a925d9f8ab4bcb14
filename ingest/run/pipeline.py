"""The whole pipeline in one process: sample → local S3 → stage → dbt build → docs → summary."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.aws import s3_client
from ingest.paths import BUILD_RESULTS, StatePaths
from ingest.raw.sources import S3Location, SourceLocation
from ingest.raw.upload import upload
from ingest.run.builds import (
    BuildMarker,
    PrunedDays,
    needs_build,
    spark_target,
)
from ingest.run.dbt import DbtOutcome, DbtVars, Schemas, run_dbt, summarize_build
from ingest.sample.cache import generate_once
from ingest.sample.generate import GenerateConfig
from ingest.sample.local_s3 import local_s3
from ingest.spark.conf import SparkSetup
from ingest.spark.session import spark_session
from ingest.spark.small_inputs import use_small_inputs
from ingest.sql_names import quote_identifier
from ingest.stage.dispatch import StageRequest, stage_target

log = logging.getLogger(__name__)
SAMPLE_BUCKET = "sparkify-raw"
MARTS = ("fct_songplays", "dim_users", "dim_songs", "dim_artists", "dim_time")
# pyspark's shell script finds Spark with `python3` from PATH, which has no pyspark unless the
# venv is activated: the venv's Python, named
PYSPARK_SHELL = "PYSPARK_PYTHON=.venv/bin/python .venv/bin/pyspark"
DASHBOARD = ("  dashboard: `make dashboard`, then open http://127.0.0.1:8501 "
             "(docs/dashboard.md)")


@dataclass(frozen=True)
class PipelineSummary:
    """What a pipeline run did; `dbt` is None when nothing was new and nothing was built.

    `duplicates_removed`: staged events that were a second delivery of an event (the raw
    format has them by design), dropped by `int_events__deduplicated`.
    """

    source: str
    seconds: float
    mart_rows: dict[str, int]
    matched_plays: int
    dbt: DbtOutcome | None
    docs: Path | None
    duplicates_removed: int = 0

    @property
    def nothing_new(self) -> bool:
        return self.dbt is None


def ensure_sample(state: StatePaths, config: GenerateConfig) -> Path:
    """Generate the sample data set once per configuration (ingest.sample.cache)."""
    generate_once(state.sample, config, progress=log.info)
    return state.sample


def run_pipeline(source: SourceLocation | None, *, raw_schema: str, schema: str, state: StatePaths,
                 project: Path, spark_setup: SparkSetup, docs: bool = True,
                 sample: GenerateConfig | None = None, target_path: Path | None = None,
                 rebuild: bool = False) -> PipelineSummary:
    """Stage `source` (default: a generated sample served by a local S3), build, document.

    `spark_setup`: the Spark settings the CLI resolved. When the stage changed no rows since
    the last successful build (and the docs are there), nothing is built and Spark does not
    even start, unless `rebuild` is asked for.
    """
    # checked before anything runs: dbt pastes both names into its SQL
    schemas = Schemas(raw_schema, schema)
    started = time.monotonic()
    target = target_path or project / "target"
    dbt_paths = ["--target-path", str(target), "--log-path", str(target.parent / "logs")]
    if source is None:
        sample_dir = ensure_sample(state, sample or GenerateConfig())
        with local_s3(SAMPLE_BUCKET) as endpoint:
            source = replace(S3Location(SAMPLE_BUCKET, "raw"), endpoint=endpoint)
            upload(sample_dir, source.uri, client=s3_client(endpoint))
            staged = stage_target(StageRequest("spark", source, raw_schema, state,
                                               spark_setup=spark_setup))
    else:
        staged = stage_target(StageRequest("spark", source, raw_schema, state,
                                           spark_setup=spark_setup))
    docs_path = target / "index.html" if docs else None
    marker = BuildMarker.of(state, spark_target(state), raw_schema, schema, project)
    pruned = PrunedDays.of(state, spark_target(state), raw_schema)
    removing = pruned.pending()  # days a `stage --prune` by hand emptied
    changed = (rebuild or staged.rows_changed
               or removing != frozenset())
    mark = staged.ledger_mark()  # what the build reads, taken before it starts
    if not needs_build(marker, changed, mark) and (docs_path is None or docs_path.is_file()):
        log.info("nothing new since the last successful build of %s: no dbt build", schema)
        return PipelineSummary(source.uri, time.monotonic() - started, {}, 0, None, docs_path)
    spark = spark_session(state, spark_setup)  # the session the stage started, or a new one
    use_small_inputs(spark, state)  # decided on what the state holds now the stage is done
    outcome = summarize_build(run_dbt(project, ["build", *dbt_paths], "spark",
                                      DbtVars(schemas, pruned_days=removing)))
    marker.record_built(mark)
    pruned.built(removing)
    if (target / "run_results.json").is_file():  # `docs generate` overwrites it
        shutil.copy2(target / "run_results.json", target / BUILD_RESULTS)
    if docs:
        run_dbt(project, ["docs", "generate", *dbt_paths], "spark", DbtVars(schemas))

    def scalar(sql: str, table: str, folder: str = "") -> int:
        name = f"{schema}_{folder}" if folder else schema  # generate_schema_name's rule
        qualified = f"{quote_identifier(name)}.{quote_identifier(table)}"
        return int(spark.sql(sql.format(table=qualified)).collect()[0][0])

    rows = {mart: scalar("select count(*) from {table}", mart) for mart in MARTS}
    matched = scalar("select count(song_id) from {table}", "fct_songplays")
    count = "select count(*) from {table}"
    duplicates = (scalar(count, "stg_sparkify__events", "staging")
                  - scalar(count, "int_events__deduplicated", "intermediate"))
    return PipelineSummary(source.uri, time.monotonic() - started, rows, matched, outcome,
                           docs_path, duplicates)


def format_summary(summary: PipelineSummary, schema: str) -> str:
    dbt = summary.dbt
    if dbt is None:
        return "\n".join([
            "",
            f"Sparkify pipeline: nothing new since the last build (source: {summary.source}; "
            f"checked in {summary.seconds:.0f} s).",
            f"  The marts in {schema} are up to date; `--rebuild` builds them anyway.",
            *([f"  docs: {summary.docs}"] if summary.docs else []),
            DASHBOARD,
            "",
        ])
    width = max(len(f"{schema}.{name}") for name in summary.mart_rows)
    tests = f"{dbt.tests_passed} tests passed"
    if dbt.tests_warned:
        tests += f", {dbt.tests_warned} warned ({', '.join(dbt.warned)})"
    lines = [
        "",
        f"Sparkify pipeline finished in {summary.seconds:.0f} s (source: {summary.source})",
        "",
        f"  {'mart':<{width}}  {'rows':>10}",
        *(f"  {schema + '.' + name:<{width}}  {count:>10,}"
          for name, count in summary.mart_rows.items()),
        f"  plays matched to a song: {summary.matched_plays:,} of "
        f"{summary.mart_rows['fct_songplays']:,}",
        f"  duplicate deliveries removed: {summary.duplicates_removed:,} "
        "(the app sends some events twice)",
        "",
        f"  dbt build: {dbt.models} models, {dbt.seeds} seed(s), {tests}",
    ]
    if summary.docs:
        lines += [
            f"  docs: {summary.docs}",
            "        browse them with `make docs` (serves http://127.0.0.1:8080)",
        ]
    lines += [
        DASHBOARD,
        "",
        "Query the marts (from the project root):",
        "  .venv/bin/dbt show --profiles-dir profiles --inline "
        "\"select * from {{ ref('fct_songplays') }}\" --limit 10",
        f"  {PYSPARK_SHELL}   then   spark.sql('select * from {schema}.dim_users').show()",
        "",
    ]
    return "\n".join(lines)
