"""A deployment whose every event comes by the collector: the batch source holds songs only
(no log_data/ at all), every event is posted to the collector (HTTP → Kinesis on moto), and
one `stream --once --source <songs>` stages the songs, lands the events and builds. The marts
equal those of the batch path on the same events as daily log files (the contract's answer,
tests/support/expected_marts.py, which tests/models/test_cross_engine.py holds the batch
builds of Spark and PostgreSQL to): the same rows in every mart, so the same row counts
and the same matched plays.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from ingest.cli import main
from ingest.sample.generate import GenerateConfig, generate
from tests.support.collector import collector_thread
from tests.support.cross_engine import assert_same_marts, export_marts
from tests.support.expected_marts import build_expected_marts
from tests.support.kinesis import event_lines, local_kinesis
from tests.support.project import PROJECT_DIR

pytestmark = [pytest.mark.spark, pytest.mark.aws, pytest.mark.dbt]
START = dt.date(2019, 7, 1)
STREAM = "events"


def test_songs_by_stage_and_every_event_by_the_collector_build_the_batch_marts(
    spark: Any, session_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full, songs_only = tmp_path / "full", tmp_path / "songs-only"
    generate(full, GenerateConfig(songs=40, days=2, events_per_day=150, seed=8,
                                  start_date=START, known_song_share=0.7))
    shutil.copytree(full / "song_data", songs_only / "song_data")
    lines = [line for path in sorted((full / "log_data").rglob("*.json"))
             for line in event_lines(path)]
    tag = uuid.uuid4().hex[:6]  # the tests share one metastore
    schema, raw_schema = f"songs_{tag}", f"songs_{tag}_raw"

    with local_kinesis(monkeypatch) as endpoint:
        with collector_thread(endpoint, tmp_path / "collector", stream=STREAM) as collector:
            for start in range(0, len(lines), 100):
                answer = collector.post("\n".join(lines[start:start + 100]))
                assert answer.status_code == 200, answer.text
                assert {event["status"] for event in answer.json()["events"]} == {"accepted"}
        assert main(["stream", "--stream", STREAM, "--once", "--source", str(songs_only),
                     "--raw-schema", raw_schema, "--schema", schema]) == 0

    def rows(sql: str) -> list[dict[str, Any]]:
        return [row.asDict() for row in spark.sql(sql).collect()]

    streamed = export_marts(lambda mart: rows(f"select * from {schema}.{mart}"))
    answer = build_expected_marts(full, PROJECT_DIR / "seeds" / "us_states.csv")
    batch = export_marts(lambda mart: answer[mart])
    assert_same_marts({"batch": batch, "collector": streamed})
    plays = rows(f"select count(*) as plays, count(song_id) as matched "
                 f"from {schema}.fct_songplays")[0]
    assert plays["matched"] > 0 and plays["plays"] == len(batch["fct_songplays"])
    assert rows(f"select count(*) as n from {schema}.dim_songs")[0]["n"] == 40
