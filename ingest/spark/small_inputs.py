"""Session settings for small inputs: a project state whose data is a few megabytes.

Spark's defaults suit inputs of many megabytes. On a sample of a few (`make run`'s is 4 MB),
a statement's price is planning and compiling, not data: whole-stage code generation
compiles Java for each query, adaptive planning plans again after each stage, and each of
the shuffle partitions is a task. Off (and one partition), a warm build of the sample took
10-14 s instead of 15-17 s (BENCHMARKS.md, the dev loop). The long-lived processes of the
project, the dev loop's warm engine and a stream, set them on their session while the state's
landed data and warehouse are this small when they start (a stream at 500 events/s whose
state grew from 2 to ~60 MB: p95 42 s with them against 59 s without); a plain `dbt build`,
`make run` and the scheduled cycles keep Spark's own. The bound is cautious: one shuffle
partition leaves a core idle once a query's data is large enough to split.
"""

from __future__ import annotations

import logging
from typing import Any

from ingest.paths import StatePaths

log = logging.getLogger(__name__)

SMALL_INPUT_BYTES = 32 * 1024 * 1024  # not measured between 4 MB and M (~300 MB)
SMALL_INPUT_CONFS = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "1",
}


def data_bytes(state: StatePaths, *, past: int = SMALL_INPUT_BYTES) -> int:
    """What the state's builds read and write (its landed raw files and its warehouse), in
    bytes; counting stops once past `past`."""
    total = 0
    for folder in (state.landing, state.warehouse):
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if path.is_file():
                total += path.stat().st_size
                if total > past:
                    return total
    return total


def input_confs(state: StatePaths) -> dict[str, str]:
    """The session settings for the data of `state`: SMALL_INPUT_CONFS while it is small."""
    size = data_bytes(state)
    if size > SMALL_INPUT_BYTES:
        log.info("more than %d MB of landed data and marts: Spark's own settings",
                 SMALL_INPUT_BYTES // 2**20)
        return {}
    log.info("%.1f MB of landed data and marts: small inputs, so no whole-stage code "
             "generation, no adaptive planning, one shuffle partition", size / 1e6)
    return dict(SMALL_INPUT_CONFS)


def use_small_inputs(spark: Any, state: StatePaths) -> None:
    """Set input_confs(state) on the session `spark`."""
    for key, value in input_confs(state).items():
        spark.conf.set(key, value)
