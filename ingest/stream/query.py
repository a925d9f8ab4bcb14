"""`python -m ingest stream`: a Kinesis stream into the Spark landing, micro-batch by micro-batch.

`spark.readStream.format("kinesis")` (ingest.stream.source) → `foreachBatch`: each
micro-batch's records become one log object per shard (ingest.stream.batch_objects), landed
through the steps of the one staging loop (ingest.stream.batch) into the landing of the
batch source (`--source`), whose tables (`<raw schema>.log_data`) the dbt project reads:
verified by the same rules, bad lines quarantined with their reason, rows landed per UTC
day with their ledger entries. Then the tables learn the new days, and `after_batch` (the
CLI passes the incremental dbt build of ingest.run.scheduler) runs before the next
micro-batch starts. The command line (ingest.stream.commands) resolves the stream's name,
region and endpoint, the source and the state folder, and passes them here as they are.

The batch source itself is staged first, when the stream starts (its songs, and any daily
log files, as `stage` would): a deployment whose every event comes by the stream still
gets its songs. `on_source_staged` is then called with that stage's report.

The query's checkpoint (`<state>/streams/<stream>--<landing>/checkpoint`) holds the offsets
Spark has planned and committed: a query stopped or killed mid-batch replays that batch
(the same records, so the same objects: the ledger loads nothing twice) and goes on. One
query per (stream, landing) at a time: a lock says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import IngestError
from ingest.kinesis.client import KinesisEndpoint, StreamName
from ingest.kinesis.records import StreamRecord
from ingest.locks import exclusive, lock_path
from ingest.paths import StatePaths
from ingest.raw.sources import SourceLocation
from ingest.spark.conf import SparkSetup
from ingest.stage.core import StageOptions, StageReport
from ingest.stage.landing.folder import Landing
from ingest.stage.spark import SparkTables, stage_spark
from ingest.stage.spark_register import register_landing
from ingest.stream.batch import LandedBatch, land_batch
from ingest.stream.batch_objects import StreamObjects
from ingest.stream.source import NAME, KinesisOptions, check_stream, register

log = logging.getLogger(__name__)
AfterBatch = Callable[[LandedBatch], None]
SourceStaged = Callable[[StageReport], None]
Interrupted = Callable[[int], None]


@dataclass(frozen=True)
class StreamConfig:
    """What `stream` reads, and the landing and raw schema its events join."""

    stream: StreamName
    endpoint: KinesisEndpoint
    source: SourceLocation  # the batch source: its landing holds the stream's rows too
    raw_schema: str
    spark_setup: SparkSetup  # the Spark settings, resolved by the CLI
    max_records: int = 100_000

    @property
    def kinesis(self) -> KinesisOptions:
        """The kinesis source's options."""
        return KinesisOptions(self.stream.value, self.endpoint, self.max_records)


def checkpoint_folder(state: StatePaths, stream: str, landing: Path) -> Path:
    return state.streams / f"{stream}--{landing.name}" / "checkpoint"


def interrupted_batch(checkpoint: Path) -> int | None:
    """The micro-batch a stopped query planned but did not commit (killed while landing or
    building it), which the next start replays; None when every planned batch committed."""

    def last(log_name: str) -> int:
        folder = checkpoint / log_name
        ids = [int(path.name) for path in folder.iterdir()
               if path.name.isdigit()] if folder.is_dir() else []
        return max(ids, default=-1)

    planned = last("offsets")
    return planned if planned > last("commits") else None


def run_stream(config: StreamConfig, state: StatePaths, *, every: float | None,
               after_batch: AfterBatch | None = None, spark: Any = None,
               on_interrupted: Interrupted | None = None,
               on_source_staged: SourceStaged | None = None) -> int:
    """Read the stream until it is stopped (`every` seconds between micro-batches), or,
    with `every` None, what it holds now (`trigger(availableNow=True)`), then return.

    `on_interrupted(batch_id)` is called first when the last query died mid-batch: its rows
    may have landed without the build that follows, and the replay lands nothing new. Then
    the batch source is staged (its songs: new ones are in the tables before any event of
    the stream is), and `on_source_staged` gets that stage's report."""
    check_stream(config.kinesis)
    location, stream = config.source, config.stream.value
    tables = SparkTables.of(location, state)  # the batch source's landing, worked out once
    assert tables.landing is not None
    landing = tables.landing.folder
    checkpoint = checkpoint_folder(state, stream, landing)
    path = lock_path(state.locks, "stream", stream, str(landing))
    with exclusive(path, f"a stream of {stream} into {landing}", wait=False):
        interrupted = interrupted_batch(checkpoint)
        if interrupted is not None:
            log.info("micro-batch %d was not committed (the last query stopped in it): "
                     "it is replayed", interrupted)
            if on_interrupted is not None:
                on_interrupted(interrupted)
        if spark is None:
            from ingest.spark.session import spark_session
            from ingest.spark.small_inputs import use_small_inputs

            spark = spark_session(state, config.spark_setup, long_lived=True)
            use_small_inputs(spark, state)  # decided once, at the start
        register(spark)
        staged = stage_spark(location, tables, schema=config.raw_schema, state=state,
                             spark=spark, options=StageOptions())
        if on_source_staged is not None and staged is not None:
            on_source_staged(staged)
        batches = MicroBatches(config, state, tables.landing, spark, after_batch)
        while True:
            log.info("streaming %s into %s (%s; checkpoint %s)", stream, landing,
                     "what it holds now" if every is None else f"every {every:g} s",
                     checkpoint)
            query = _start(spark, config, batches, checkpoint, every)
            try:
                query.awaitTermination()
                log.info("the stream %s: %d micro-batches, %d records", stream,
                         batches.count, batches.records)
                return 0
            except KeyboardInterrupt:
                query.stop()
                raise
            except Exception as exc:
                error = batches.take_error() or IngestError(
                    f"the stream {stream} failed: {_first_line(exc)}")
                if every is None:
                    raise error from exc
                log.error("%s; starting again in %g s (from the last committed offsets)",
                          error, every)
                time.sleep(every)


def _start(spark: Any, config: StreamConfig, batches: MicroBatches, checkpoint: Path,
           every: float | None) -> Any:
    reader = spark.readStream.format(NAME)
    for key, value in config.kinesis.as_options().items():
        reader = reader.option(key, value)
    writer = (reader.load().writeStream.foreachBatch(batches)
              .option("checkpointLocation", str(checkpoint)))
    if every is None:
        return writer.trigger(availableNow=True).start()
    return writer.trigger(processingTime=f"{every} seconds").start()


class MicroBatches:
    """The `foreachBatch` function: land a micro-batch, register its days, build."""

    def __init__(self, config: StreamConfig, state: StatePaths, landing: Landing, spark: Any,
                 after_batch: AfterBatch | None) -> None:
        self.config, self.state, self.landing = config, state, landing
        self.spark, self.after_batch = spark, after_batch
        self.count = self.records = 0
        self._error: BaseException | None = None

    def __call__(self, frame: Any, batch_id: int) -> None:
        try:
            self.handle(frame.select("shard_id", "sequence_number", "data").collect(),
                        batch_id)
        except BaseException as exc:  # kept: Spark passes on only its text
            self._error = exc
            raise

    def handle(self, rows: list[Any], batch_id: int) -> LandedBatch | None:
        """Land the rows (shard, sequence number, text) of one micro-batch."""
        if not rows:
            return None
        objects = StreamObjects(self.config.stream.value, [
            StreamRecord(str(shard), str(sequence), (data or "").encode("utf-8"))
            for shard, sequence, data in rows])
        landed = land_batch(objects, self.landing.folder, locks=self.state.locks,
                            batch_source_uri=self.config.source.uri)
        register_landing(self.spark, self.config.raw_schema, self.landing, landed.report)
        self.count += 1
        self.records += len(rows)
        log.info("micro-batch %d: %d records from %d shards landed in %s.log_data", batch_id,
                 len(rows), len(objects.objects), self.config.raw_schema)
        if self.after_batch is not None:
            self.after_batch(landed)
        return landed

    def take_error(self) -> IngestError | None:
        """The IngestError a micro-batch failed with, if that is what stopped the query."""
        error, self._error = self._error, None
        return error if isinstance(error, IngestError) else None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__
