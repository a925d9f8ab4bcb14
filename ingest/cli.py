"""`python -m ingest …` / `sparkify-ingest …`: the parser, its global options, the run.

Each area registers its own sub-commands (`ingest.<area>.commands.add_commands`); every
option's default is a setting (ingest.settings), and --help ends with their table.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, cast

from ingest.clusters import commands as clusters
from ingest.collect import commands as collect
from ingest.dev import commands as dev
from ingest.errors import EXIT_BUSY, EXIT_ERROR, EXIT_INTERRUPTED, IngestError
from ingest.raw import commands as raw
from ingest.report import commands as report
from ingest.run import commands as run_area
from ingest.safe_text import printable
from ingest.sample import commands as sample
from ingest.setting_options import Checked
from ingest.settings import read_all
from ingest.settings_table import settings_text
from ingest.spark import commands as spark
from ingest.stage import commands as stage
from ingest.stream import commands as stream

Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse, with a bad command line said in one `error:` line (exit 2), as the other
    errors a user can cause; `--help` shows the usage."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {printable(self.prog)}: {printable(message)} (--help shows the usage)",
              file=sys.stderr)
        raise SystemExit(EXIT_ERROR)

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        """argparse checks `choices` only of a value given on the command line: a default
        from a variable (SPARKIFY_TARGET=redshift for `run`) is checked here."""
        parsed, rest = super().parse_known_args(args, namespace)
        for action in self._actions:
            value = getattr(parsed, action.dest, None)
            if (action.choices is None or not action.option_strings or value is None
                    or value is not action.default or value in action.choices):
                continue
            allowed = ", ".join(map(str, action.choices))
            source = (action.type.variable if isinstance(action.type, Checked)
                      else "its variable")
            self.error(f"argument {action.option_strings[0]}: {value!r} (from {source}) is "
                       f"not one of {allowed} here")
        return parsed, rest


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options, then every area's sub-commands."""
    parser = Parser(
        prog="python -m ingest",
        description="Sparkify ingest: generate raw data, upload it to S3, stage it for dbt. "
                    "Most options' defaults can be set with the variables listed below.",
        epilog="environment variables (name, default, meaning; docs/settings.md):\n"
               + settings_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    # the sub-commands' parsers are Parsers too (argparse makes them of the parser's class)
    commands = cast("argparse._SubParsersAction[argparse.ArgumentParser]",
                    parser.add_subparsers(dest="command", required=True))
    sample.add_commands(commands)
    raw.add_commands(commands)
    stage.add_commands(commands, on_staged=run_area.mark_builds_behind)
    run_area.add_commands(commands)
    dev.add_commands(commands)
    spark.add_commands(commands)
    clusters.add_commands(commands)
    stream.add_commands(commands)
    report.add_commands(commands)
    collect.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        read_all()  # every setting checked before anything runs, whatever the command
        parser = build_parser()
    except IngestError as exc:  # a setting of the wrong type: no parser without its default
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return run(parser, argv)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, set up logging, run its handler; errors a user can cause print one line."""
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S", stream=sys.stderr,
    )
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "py4j", "werkzeug",
                  "choreographer", "kaleido", "logistro"):
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
