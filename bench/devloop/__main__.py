"""`python -m bench.devloop`: the dev loop's `dbt build`, cold and warm, into BENCHMARKS.md."""

import sys

from bench.devloop.cli import build_parser
from ingest.cli import run

sys.exit(run(build_parser()))
