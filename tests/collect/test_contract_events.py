"""The collector judges generated events as the stage does: every event the line check
accepts (boundaries included: tests/support/contract_events.py, fixed seed) is answered
`accepted` and put on the stream as sent; every event just past a limit is answered
`rejected` with the stage's reason, word for word, and put on the stream too (the stage
downstream quarantines it with that reason). The builds of the same events are
tests/models/test_generated_events.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.raw.lines import LineProblem
from ingest.raw.verify import check_line
from tests.support.collector import Collector, collector_thread
from tests.support.contract_events import generated_events

pytestmark = pytest.mark.aws
MAX_REQUEST_BYTES = 900_000  # under the collector's default 1 MiB body


@pytest.fixture()
def collector(kinesis_endpoint: str, tmp_path: Path) -> Iterator[Collector]:
    with collector_thread(kinesis_endpoint, tmp_path / "state") as running:
        yield running


def _requests(lines: list[str]) -> Iterator[list[str]]:
    """The lines in NDJSON requests of at most MAX_REQUEST_BYTES each."""
    batch: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode()) + 1
        if batch and size + length > MAX_REQUEST_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += length
    if batch:
        yield batch


def _verdict(line: str) -> tuple[str, str | None]:
    try:
        check_line("log_data", line, line.encode())
    except LineProblem as problem:
        return "rejected", problem.reason
    return "accepted", None


def test_the_collector_answers_generated_events_as_the_stage_judges_them(
    collector: Collector
) -> None:
    events = generated_events(100, refused=24)
    lines = events.lines()
    answers: list[tuple[str, str | None]] = []
    for batch in _requests(lines):
        answer = collector.post("\n".join(batch))
        assert answer.status_code == 200, answer.text[:300]
        answers += [(event["status"], event.get("reason")) for event in answer.json()["events"]]

    assert answers == [_verdict(line) for line in lines]
    assert Counter(status for status, _reason in answers) == {
        "accepted": len(events.accepted), "rejected": len(events.refused)}
    assert collector.stream_lines() == Counter(line.encode() for line in lines)
