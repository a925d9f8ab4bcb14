"""A batch source holding the songs and a first day, staged into Spark, for the tests that
then bring more days through a stream and compare the marts with the contract's."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest.cli import main
from ingest.paths import StatePaths
from ingest.sample.generate import GenerateConfig, generate
from ingest.stage.landing.ledger import ledger_entries
from tests.support.cross_engine import assert_same_marts, export_marts
from tests.support.expected_marts import build_expected_marts
from tests.support.kinesis import create_stream, event_lines, kinesis, local_kinesis, put_lines
from tests.support.project import PROJECT_DIR
from tests.support.staging import landing_of, stage_spark


def log_path(raw: Path, day: dt.date) -> Path:
    return raw / "log_data" / f"{day:%Y}" / f"{day:%m}" / f"{day.isoformat()}-events.json"


def write_day(target: Path, day: dt.date, lines: list[str]) -> None:
    path = log_path(target, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def staged_first_day(root: Path, spark: Any, state: StatePaths, config: GenerateConfig,
                     raw_schema: str) -> tuple[Path, Path, Path]:
    """`full` (every generated day), `source` and `expected` (the songs and the first day),
    with `source` staged into `raw_schema`."""
    full, source, expected = root / "full", root / "source", root / "expected"
    generate(full, config)
    for folder in (source, expected):
        shutil.copytree(full / "song_data", folder / "song_data")
        write_day(folder, config.start_date, event_lines(log_path(full, config.start_date)))
    stage_spark(str(source), schema=raw_schema, state=state, spark=spark)
    return full, source, expected


class StreamedDays:
    """A batch source (songs, the first day) staged on Spark in schemas of its own, and a moto
    stream the days after it go on; after each `stream --once`, the marts compared with the
    contract's answer on the same events (`expected`: the first day, then each day put)."""

    STREAM = "events"

    def __init__(self, spark: Any, state_root: Path, tmp_path: Path, endpoint: str,
                 config: GenerateConfig) -> None:
        self.spark, self.state, self.endpoint = spark, StatePaths(state_root), endpoint
        tag = uuid.uuid4().hex[:6]  # the tests share one metastore
        self.schema, self.raw_schema = f"strm_{tag}", f"strm_{tag}_raw"
        self.full, self.source, self.expected = staged_first_day(
            tmp_path, spark, self.state, config, self.raw_schema)
        self.client = kinesis(endpoint)
        create_stream(self.client, self.STREAM, shards=2)

    def day(self, day: dt.date) -> list[str]:
        """The generated events of `day`, one line each."""
        return event_lines(log_path(self.full, day))

    def put_day(self, day: dt.date, *, twice: int = 0, malformed: Sequence[str] = ()
                ) -> list[str]:
        """Put one day's events (its first `twice` delivered again, `malformed` in between)."""
        lines = self.day(day)
        delivered = lines + lines[:twice]
        put_lines(self.client, self.STREAM, [*delivered[:50], *malformed, *delivered[50:]])
        self.expect(day, delivered)
        return delivered

    def expect(self, day: dt.date, lines: list[str]) -> None:
        """`lines` are the good events of `day` that reached the stream (as a file would)."""
        write_day(self.expected, day, lines)

    def stream_once(self) -> None:
        assert main(["stream", "--stream", self.STREAM, "--once", "--source", str(self.source),
                     "--raw-schema", self.raw_schema, "--schema", self.schema]) == 0

    def assert_marts_as_contract(self) -> None:
        answer = build_expected_marts(self.expected, PROJECT_DIR / "seeds" / "us_states.csv")
        streamed = export_marts(lambda mart: [row.asDict() for row in self.spark.sql(
            f"select * from {self.schema}.{mart}").collect()])
        assert_same_marts({"expected": export_marts(lambda mart: answer[mart]),
                           "streamed": streamed})

    def quarantined_lines(self) -> list[tuple[str, str]]:
        """(object key, line) of each quarantined line of the source's landing."""
        _entries, quarantined = ledger_entries(
            landing_of(self.state, str(self.source)))
        return [(row[1], row[4]) for row in quarantined]

    def staged_events(self) -> int:
        return int(self.spark.sql(
            f"select count(*) from {self.raw_schema}.log_data").collect()[0][0])


@contextmanager
def streamed_days(spark: Any, session_state: Path, tmp_path: Path, monkeypatch: Any,
                  config: GenerateConfig) -> Iterator[StreamedDays]:
    """StreamedDays on a fresh moto server that boto3 is pointed at (`local_kinesis`)."""
    with local_kinesis(monkeypatch) as endpoint:
        yield StreamedDays(spark, session_state, tmp_path, endpoint, config)
