"""`python -m bench --size S|M|L`: time the pipeline against the PySpark and DuckDB baselines."""

import sys

from bench.batch.cli import build_parser
from ingest.cli import run

sys.exit(run(build_parser()))
