"""Session settings for small inputs: a project state whose data is a few megabytes.

Spark's defaults suit inputs of many megabytes. On a sample of a few (`make run`'s is 4 MB),
a statement's price is planning and compiling, not data: whole-stage code generation
compiles Java for each query, and so does each projection, predicate and ordering
(Janino, which also looks up hundreds of class names in pyspark's jars per compile);
adaptive planning plans again after each stage, and each of the shuffle partitions is a
task. Off (and one partition), a warm build of the sample took 10-14 s instead of 15-17 s
(BENCHMARKS.md, the dev loop); with expressions not compiled as well, the Spark incremental
history's ten builds took 150-152 CPU s, against 175 without that and 178-183 with Spark's
own settings (BENCHMARKS.md, the test suite's seventh round).

Where they apply: the dev loop's warm engine and a stream, decided once when they start (a
stream at 500 events/s whose state grew from 2 to ~60 MB: p95 42 s with them against 59 s
without); `make run`'s build and each scheduled cycle's build, decided again before each
build from what the state holds then. A plain `dbt build` keeps Spark's own. The bound is
cautious: one shuffle partition leaves a core idle once a query's data is large enough to
split, and interpreted expressions cost more per row than compiled ones.
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
    # expressions evaluated as they are, not compiled (an internal setting that Spark's
    # own test suites run every expression under; read in Spark 4 outside tests too)
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
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
             "generation, no adaptive planning, one shuffle partition, expressions not "
             "compiled", size / 1e6)
    return dict(SMALL_INPUT_CONFS)


def use_small_inputs(spark: Any, state: StatePaths) -> bool:
    """Set input_confs(state) on the session `spark`; past the bound, give those settings
    back the values the session started with (spark-defaults.conf's, else Spark's own), so
    a long-lived process whose state grew builds as a plain one. Whether the state is small."""
    confs = input_confs(state)
    started = spark.sparkContext.getConf()
    for key, value in SMALL_INPUT_CONFS.items():
        if confs:
            spark.conf.set(key, value)
        elif started.contains(key):
            spark.conf.set(key, started.get(key))
        else:
            spark.conf.unset(key)
    return bool(confs)
