"""The whole pipeline in one process: sample → local S3 → stage → dbt build → docs → summary."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ingest.dbt import DbtOutcome, run_dbt, summarize_build
from ingest.generate import GenerateConfig, generate
from ingest.local_s3 import local_s3
from ingest.paths import StatePaths, project_root
from ingest.raw_format import validate_schema_name
from ingest.spark import spark_session
from ingest.stage_spark import quote_identifier, stage_spark
from ingest.upload import upload

log = logging.getLogger(__name__)
SAMPLE_BUCKET = "sparkify-raw"
MARTS = ("fct_songplays", "dim_users", "dim_songs", "dim_artists", "dim_time")


@dataclass(frozen=True)
class PipelineSummary:
    source: str
    seconds: float
    mart_rows: dict[str, int]
    matched_plays: int
    dbt: DbtOutcome
    docs: Path | None


def ensure_sample(state: StatePaths, config: GenerateConfig) -> Path:
    """Generate the sample data set once per configuration."""
    marker = state.sample / "_GENERATED_WITH.json"
    wanted = json.dumps(asdict(config), default=str, sort_keys=True)
    if marker.is_file() and marker.read_text(encoding="utf-8") == wanted:
        log.info("sample data set already in %s", state.sample)
        return state.sample
    stats = generate(state.sample, config, progress=log.info)
    marker.write_text(wanted, encoding="utf-8")
    log.info("generated %d song files and %d events in %s", stats.song_files, stats.events,
             state.sample)
    return state.sample


def run_pipeline(source: str | None, *, raw_schema: str, schema: str, docs: bool = True,
                 sample: GenerateConfig | None = None, state: StatePaths | None = None,
                 target_path: Path | None = None) -> PipelineSummary:
    """Stage `source` (default: a generated sample served by a local S3), build, document."""
    # checked before anything runs: both names go to os.environ, where dbt reads them raw
    validate_schema_name(raw_schema, "raw_schema (SPARKIFY_RAW_SCHEMA)")
    validate_schema_name(schema, "schema (SPARKIFY_SCHEMA)")
    started = time.monotonic()
    state = state or StatePaths.default()
    project = project_root()
    target = target_path or project / "target"
    dbt_paths = ["--target-path", str(target), "--log-path", str(target.parent / "logs")]
    spark = spark_session(state)
    if source is None:
        sample_dir = ensure_sample(state, sample or GenerateConfig())
        source = f"s3://{SAMPLE_BUCKET}/raw"
        with local_s3(SAMPLE_BUCKET):
            upload(sample_dir, source)
            stage_spark(source, schema=raw_schema, state=state, spark=spark)
    else:
        stage_spark(source, schema=raw_schema, state=state, spark=spark)
    os.environ["SPARKIFY_RAW_SCHEMA"] = raw_schema
    os.environ["SPARKIFY_SCHEMA"] = schema
    outcome = summarize_build(run_dbt(project, ["build", *dbt_paths], target="spark"))
    docs_path = None
    if docs:
        run_dbt(project, ["docs", "generate", *dbt_paths], target="spark")
        docs_path = target / "index.html"
    def scalar(sql: str, table: str) -> int:
        qualified = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        return int(spark.sql(sql.format(table=qualified)).collect()[0][0])

    rows = {mart: scalar("select count(*) from {table}", mart) for mart in MARTS}
    matched = scalar("select count(song_id) from {table}", "fct_songplays")
    return PipelineSummary(source, time.monotonic() - started, rows, matched, outcome,
                           docs_path)


def format_summary(summary: PipelineSummary, schema: str) -> str:
    dbt = summary.dbt
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
        "",
        f"  dbt build: {dbt.models} models, {dbt.seeds} seed(s), {tests}",
    ]
    if summary.docs:
        lines += [
            f"  docs: {summary.docs}",
            "        browse them with `make docs` (serves http://127.0.0.1:8080)",
        ]
    lines += [
        "",
        "Query the marts (from the project root):",
        "  .venv/bin/dbt show --profiles-dir profiles --inline "
        "\"select * from {{ ref('fct_songplays') }}\" --limit 10",
        f"  .venv/bin/pyspark   then   spark.sql('select * from {schema}.dim_users').show()",
        "",
    ]
    return "\n".join(lines)
