"""`python -m ingest …` / `sparkify-ingest …`: every option also reads an env variable."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import IngestError
from ingest.raw.contract import schema_name_argument

if TYPE_CHECKING:
    from ingest.stage.core import StageOptions

log = logging.getLogger("ingest")
# Exit codes (docs/staging.md): 0 done; 1 a scheduled cycle failed; 2 a problem to fix (bad
# input, setting, source or service), said in one `error:` line; 75 another stage of the
# same source and target runs (--no-wait); 130 interrupted.
EXIT_OK, EXIT_CYCLE_FAILED, EXIT_ERROR, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 75, 130
Handler = Callable[[argparse.Namespace], int]


def env(name: str, default: str | None = None) -> str | None:
    """Default of an option: the environment variable SPARKIFY_<NAME>, else `default`."""
    return os.environ.get(f"SPARKIFY_{name}", default)


def env_int(name: str, default: int) -> int:
    value = env(name)
    return int(value) if value else default


def cmd_generate(args: argparse.Namespace) -> int:
    from ingest.sample.generate import GenerateConfig, generate

    config = GenerateConfig(
        songs=args.songs, days=args.days, events_per_day=args.events_per_day, seed=args.seed,
        start_date=dt.date.fromisoformat(args.start_date),
        known_song_share=args.known_song_share,
    )
    stats = generate(Path(args.out), config, progress=log.info)
    log.info("wrote %d song files, %d log files, %d events (%d plays), %.1f MB to %s",
             stats.song_files, stats.log_files, stats.events, stats.next_song_events,
             stats.bytes_written / 1e6, args.out)
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    from ingest.raw.upload import upload

    upload(Path(args.src_dir), args.destination, workers=args.workers)
    return 0


def _stage_options(args: argparse.Namespace) -> StageOptions:
    """The staging core's options from the command line (ingest.stage.core)."""
    from ingest.ledger.archive import ArchiveRequest
    from ingest.stage.core import StageOptions

    if args.delete_archived and not args.archive:
        raise IngestError("--delete-archived needs --archive DEST")
    archive = ArchiveRequest(args.archive, args.delete_archived) if args.archive else None
    return StageOptions(max_attempts=args.max_attempts, batch_objects=args.batch_objects,
                        prune=args.prune, wait=args.wait, archive=archive)


def cmd_stage(args: argparse.Namespace) -> int:
    if not args.source:
        raise IngestError("--source is required (or set SPARKIFY_SOURCE)")
    from ingest.paths import StatePaths

    options = _stage_options(args)
    if options.archive and args.target == "redshift":
        raise IngestError("--archive works with --target spark and postgres")
    if args.target == "postgres":
        from ingest.run.builds import postgres_target, staged_by_hand
        from ingest.stage.postgres import stage_postgres_report
        from ingest.stage.warehouse import ConnectionSettings

        settings = ConnectionSettings.from_env("postgres")
        report = stage_postgres_report(args.source, schema=args.raw_schema, settings=settings,
                                       options=options)
        if report.rows_changed:
            staged_by_hand(StatePaths.default(), postgres_target(
                settings.host, settings.port, settings.database), args.raw_schema)
    elif args.target == "redshift":
        from ingest.stage.redshift import stage_redshift

        if not args.iam_role:
            raise IngestError("--target redshift needs --iam-role (or SPARKIFY_IAM_ROLE): the "
                              "ARN of the role the cluster uses to read the bucket")
        if not args.region:
            raise IngestError("--target redshift needs --region (or AWS_REGION): the bucket's")
        stage_redshift(args.source, schema=args.raw_schema, iam_role=args.iam_role,
                       region=args.region, load_files_uri=args.load_files_uri,
                       dry_run=args.dry_run, options=options)
    elif args.target == "spark_thrift":
        from ingest.spark.thrift_server import stage_through_server

        stage_through_server(args.source, schema=args.raw_schema, location=args.location,
                             dry_run=args.dry_run, options=options)
    else:
        from ingest.run.builds import spark_target, staged_by_hand
        from ingest.stage.spark import stage_spark

        staged = stage_spark(args.source, schema=args.raw_schema, location=args.location,
                             dry_run=args.dry_run, options=options)
        if staged.landing is not None and staged.landing.rows_changed:
            state = StatePaths.default()
            staged_by_hand(state, spark_target(state), args.raw_schema)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ingest.paths import StatePaths
    from ingest.stage.status import spark_status, warehouse_status

    if args.target == "spark":
        print(spark_status(StatePaths.default(), args.limit))
    else:
        print(warehouse_status(args.target, args.raw_schema, args.limit))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from ingest.run.scheduler import CycleConfig, parse_interval, run_every

    if not args.source:
        raise IngestError("--source is required (or set SPARKIFY_SOURCE)")
    config = CycleConfig(args.target, args.source, args.raw_schema, args.schema,
                         _stage_options(args))
    every = parse_interval(args.every)
    cycles = 1 if args.once else args.cycles
    return run_every(config, every, cycles=cycles)


def cmd_spark_conf(args: argparse.Namespace) -> int:
    from ingest.paths import StatePaths
    from ingest.spark.conf import write_spark_conf

    folder = write_spark_conf(StatePaths.default(), Path(args.dir) if args.dir else None)
    log.info("Spark configuration written to %s (state in %s)", folder, StatePaths.default().root)
    return 0


def cmd_pipeline(args: argparse.Namespace) -> int:
    from ingest.run.pipeline import format_summary, run_pipeline
    from ingest.sample.generate import GenerateConfig

    sample = GenerateConfig(songs=args.songs, days=args.days,
                            events_per_day=args.events_per_day, seed=args.seed)
    summary = run_pipeline(args.source or None, raw_schema=args.raw_schema, schema=args.schema,
                           docs=not args.no_docs, sample=sample, rebuild=args.rebuild)
    print(format_summary(summary, args.schema))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Sparkify ingest: generate raw data, upload it to S3, stage it for dbt. "
                    "Every option's default can be set with the SPARKIFY_<OPTION> variable.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="write a realistic raw data set")
    gen.add_argument("--out", default=env("OUT"), required=env("OUT") is None)
    _add_size_options(gen)
    gen.add_argument("--start-date", default=env("START_DATE", "2018-11-01"))
    gen.add_argument("--known-song-share", type=float,
                     default=float(env("KNOWN_SONG_SHARE", "0.4") or 0.4),
                     help="share of plays that name a song of the set (default 0.4)")
    gen.set_defaults(handler=cmd_generate)

    up = commands.add_parser("upload", help="copy a local raw folder to s3://bucket/prefix")
    up.add_argument("src_dir")
    up.add_argument("destination", help="s3://bucket/prefix")
    up.add_argument("--workers", type=int, default=env_int("UPLOAD_WORKERS", 16))
    up.set_defaults(handler=cmd_upload)

    stage = commands.add_parser("stage", help="register raw data as tables for dbt")
    stage.add_argument("--target", default=env("TARGET", "spark"),
                       choices=["spark", "spark_thrift", "postgres", "redshift"],
                       help="spark_thrift: register the tables through the Thrift Server "
                            "(SPARKIFY_THRIFT_HOST/PORT)")
    stage.add_argument("--source", default=env("SOURCE"),
                       help="local folder or s3://bucket/prefix with song_data/ and log_data/")
    stage.add_argument("--raw-schema", default=env("RAW_SCHEMA", "sparkify_raw"),
                       type=schema_name_argument("--raw-schema / SPARKIFY_RAW_SCHEMA"))
    stage.add_argument("--location", choices=["local", "direct"],
                       default=env("LOCATION", "local"),
                       help="local: verify new objects into a landing folder (default); "
                            "direct: tables read s3:// themselves (EMR)")
    stage.add_argument("--iam-role", default=env("IAM_ROLE"),
                       help="redshift: ARN of the role the cluster assumes to read S3")
    stage.add_argument("--region", default=env("REGION", os.environ.get("AWS_REGION")),
                       help="redshift: region of the raw bucket (default AWS_REGION)")
    stage.add_argument("--load-files-uri", default=env("LOAD_FILES_URI"),
                       help="redshift: s3:// prefix for manifests and JSONPaths "
                            "(default <source>/_sparkify_loads)")
    stage.add_argument("--dry-run", action="store_true",
                       help="spark, redshift: print the DDL / COPY statements, run nothing")
    _add_stage_options(stage)
    stage.set_defaults(handler=cmd_stage)

    status = commands.add_parser("status", help="the ledger: staged, pending, failed, "
                                                "quarantined objects and lines")
    status.add_argument("--target", default=env("TARGET", "spark"),
                        choices=["spark", "postgres", "redshift"])
    status.add_argument("--raw-schema", default=env("RAW_SCHEMA", "sparkify_raw"),
                        type=schema_name_argument("--raw-schema / SPARKIFY_RAW_SCHEMA"))
    status.add_argument("--limit", type=int, default=20, help="quarantined lines to show")
    status.set_defaults(handler=cmd_status)

    run = commands.add_parser("run", help="stage + dbt build every interval, one at a time")
    run.add_argument("--every", default=env("EVERY", "10m"), help="interval, e.g. 10m")
    run.add_argument("--once", action="store_true", help="one cycle (for cron)")
    run.add_argument("--cycles", type=int, default=None, help="stop after N cycles")
    run.add_argument("--target", default=env("TARGET", "spark"), choices=["spark", "postgres"])
    run.add_argument("--source", default=env("SOURCE"))
    run.add_argument("--raw-schema", default=env("RAW_SCHEMA", "sparkify_raw"),
                     type=schema_name_argument("--raw-schema / SPARKIFY_RAW_SCHEMA"))
    run.add_argument("--schema", default=env("SCHEMA", "sparkify"),
                     type=schema_name_argument("--schema / SPARKIFY_SCHEMA"))
    _add_stage_options(run)
    run.set_defaults(handler=cmd_run)

    conf = commands.add_parser("spark-conf", help="write the project's Spark configuration")
    conf.add_argument("--dir", default=None, help="folder (default: SPARK_CONF_DIR or pyspark's)")
    conf.set_defaults(handler=cmd_spark_conf)

    pipe = commands.add_parser("pipeline", help="the whole pipeline on the embedded Spark")
    pipe.add_argument("--source", default=env("SOURCE"),
                      help="raw data to use (default: a generated sample via a local S3)")
    pipe.add_argument("--raw-schema", default=env("RAW_SCHEMA", "sparkify_raw"),
                      type=schema_name_argument("--raw-schema / SPARKIFY_RAW_SCHEMA"))
    pipe.add_argument("--schema", default=env("SCHEMA", "sparkify"),
                      type=schema_name_argument("--schema / SPARKIFY_SCHEMA"))
    pipe.add_argument("--no-docs", action="store_true", help="skip dbt docs generate")
    pipe.add_argument("--rebuild", action="store_true",
                      help="build the marts even when nothing is new since the last build")
    _add_size_options(pipe)
    pipe.set_defaults(handler=cmd_pipeline)

    from ingest.clusters.aws import add_infra_commands
    from ingest.spark.thrift_server import add_spark_server_command

    add_infra_commands(commands)
    add_spark_server_command(commands)
    return parser


def _add_stage_options(parser: argparse.ArgumentParser) -> None:
    """The staging core's options (ingest.stage.core.StageOptions), for stage and run."""
    parser.add_argument("--batch-objects", type=int, default=env_int("BATCH_OBJECTS", 500),
                        help="objects per batch: one transaction, or one set of landing "
                             "files and its ledger commit (default 500)")
    parser.add_argument("--max-attempts", type=int, default=env_int("MAX_ATTEMPTS", 3),
                        help="runs an unreadable object stays pending before it is failed "
                             "(and a cut-off last line is quarantined)")
    parser.add_argument("--prune", action="store_true",
                        default=env("PRUNE", "") in {"1", "true", "yes"},
                        help="drop the rows of objects that vanished from the source "
                             "(default: keep them and report them)")
    wait = parser.add_mutually_exclusive_group()
    wait.add_argument("--wait", dest="wait", action="store_true",
                      help="if another stage of the same source and target runs, wait for it "
                           "(default)")
    wait.add_argument("--no-wait", dest="wait", action="store_false",
                      help="if another stage of the same source and target runs, exit at once "
                           f"with code {EXIT_BUSY}")
    parser.set_defaults(wait=env("WAIT", "1") not in {"0", "false", "no"})
    parser.add_argument("--archive", default=env("ARCHIVE"),
                        help="copy processed raw objects to this folder or s3:// prefix")
    parser.add_argument("--delete-archived", action="store_true",
                        help="with --archive: delete archived objects from the source")


def _add_size_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--songs", type=int, default=env_int("SONGS", 71))
    parser.add_argument("--days", type=int, default=env_int("DAYS", 30))
    parser.add_argument("--events-per-day", type=int, default=env_int("EVENTS_PER_DAY", 270))
    parser.add_argument("--seed", type=int, default=env_int("SEED", 42))


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, set up logging, run its handler; errors a user can cause print one line."""
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S", stream=sys.stderr,
    )
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "py4j", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handler: Handler = args.handler
    from ingest.locks import Busy

    try:
        return handler(args)
    except Busy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except IngestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # the environment (a full disk, a read-only folder): no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
