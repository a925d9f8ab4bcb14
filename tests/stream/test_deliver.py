"""`deliver`: the stream into raw log objects, exactly once per event, resumable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ingest.cli import main
from ingest.kinesis.client import KinesisEndpoint, kinesis_client
from ingest.kinesis.shards import ensure_stream, list_shards
from ingest.raw.sources import LocalSource, parse_source
from ingest.raw.verify import file_date
from ingest.stream.checkpoints import Checkpoints
from ingest.stream.deliver import Delivery, Limits
from ingest.stream.delivered_objects import Destination, LogObject
from ingest.stream.produce import Pace, produce
from tests.stream.support import (
    MALFORMED,
    lines_of,
    local_objects,
    s3_objects,
    source_lines,
    ts_day,
    write_handwritten,
)

KEY = re.compile(r"log_data/(\d{4})/(\d{2})/events/shardId-\d{12}/(\d+)-(\d+)-"
                 r"(\1-\2-\d{2})-events\.json")


def _produce(tmp_path: Path, shards: int = 2, per_day: int = 60) -> list[bytes]:
    write_handwritten(tmp_path / "src", events_per_day=per_day)
    assert main(["produce", "--stream", "events", "--source", str(tmp_path / "src"),
                 "--shards", str(shards)]) == 0
    return source_lines(tmp_path / "src")


def _check_objects(objects: dict[str, bytes], expected: list[bytes]) -> None:
    """Every line once; keys in the layout; each dated line on its object's day."""
    assert lines_of(objects) == lines_of({"all": b"\n".join(expected)})
    for key, body in objects.items():
        match = KEY.fullmatch(key)
        assert match, key
        assert int(match[3]) <= int(match[4])
        day = file_date(key)
        assert day is not None and day.isoformat() == match[5]
        assert {ts_day(line) for line in body.split(b"\n")} - {None} <= {day}


def test_deliver_once_into_a_folder_twice_gives_the_same_objects(aws: str, tmp_path: Path
                                                                  ) -> None:
    expected = _produce(tmp_path)
    for out in ("a", "b"):
        assert main(["deliver", "--stream", "events", "--to", str(tmp_path / out), "--once",
                     "--max-records", "25"]) == 0
    first, second = local_objects(tmp_path / "a"), local_objects(tmp_path / "b")
    _check_objects(first, expected)
    assert first == second
    assert any(line in MALFORMED for line in lines_of(first))

    assert main(["deliver", "--stream", "events", "--to", str(tmp_path / "a"), "--once"]) == 0
    assert local_objects(tmp_path / "a") == first, "a checkpointed delivery writes nothing new"


def test_deliver_once_into_s3(aws: str, tmp_path: Path) -> None:
    expected = _produce(tmp_path, shards=1)
    assert main(["deliver", "--stream", "events", "--to", "s3://raw-bucket/delivered",
                 "--once", "--max-bytes", "3000"]) == 0
    objects = s3_objects("raw-bucket", "delivered")
    _check_objects(objects, expected)
    assert len(objects) > 4


class DiesAfter(Destination):
    """A destination that stops the process (an exception) after `writes` objects."""

    def __init__(self, out: Path, writes: int) -> None:
        super().__init__(parse_source(str(out)))
        self.left = writes

    def write(self, obj: LogObject) -> None:
        if self.left == 0:
            raise SystemExit("killed")
        self.left -= 1
        super().write(obj)


def test_a_crash_between_objects_and_checkpoint_rewrites_the_same_keys(aws: str,
                                                                       tmp_path: Path) -> None:
    expected = _produce(tmp_path, shards=1)
    out = tmp_path / "out"
    store = Checkpoints(tmp_path / "state" / "cp.sqlite", "events", str(out))
    destination = Destination(parse_source(str(out)))
    client = kinesis_client(KinesisEndpoint.resolve(None, None))
    # the first buffer spans both days: its second object is never written
    limits = Limits(max_records=80)
    with pytest.raises(SystemExit):
        Delivery(client, "events", DiesAfter(out, 1), store, limits).run(once=True)
    (shard,) = store.all().values()
    assert shard.pending is not None and shard.sequence is None
    half = local_objects(out)
    assert len(half) == 1

    # a restart with other limits still cuts its first buffer where the crash left it
    Delivery(client, "events", destination, store, Limits(max_records=7)).run(once=True)

    objects = local_objects(out)
    _check_objects(objects, expected)
    assert half.items() <= objects.items()
    assert store.all()[shard.shard_id].pending is None


class SplitsAfter:
    """The boto3 client, but once `calls` PutRecords calls are done it doubles the shards.

    The re-shard happens between two calls of the producer, on its thread: moto's split is
    not atomic with PutRecords running at the same moment. moto 5 also keeps routing records
    to the closed parent (it looks up shards by hash range, closed ones first), so there the
    children stay empty; tests/stream/test_reshard.py shows the children's turn on a fake.
    """

    def __init__(self, client: Any, calls: int) -> None:
        self.client, self.calls_left = client, calls

    def put_records(self, **request: Any) -> Any:
        response = self.client.put_records(**request)
        self.calls_left -= 1
        if self.calls_left == 0:
            self.client.update_shard_count(StreamName=request["StreamName"],
                                           TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        return response


def test_a_reshard_while_producing_loses_nothing(aws: str, tmp_path: Path) -> None:
    write_handwritten(tmp_path / "src", events_per_day=600)
    expected = source_lines(tmp_path / "src")
    client = kinesis_client(KinesisEndpoint.resolve(None, None))
    ensure_stream(client, "events", 1)

    report = produce(SplitsAfter(client, 1), "events", LocalSource(tmp_path / "src"), Pace())

    assert report.calls == 3 and report.events == len(expected)
    shards = list_shards(client, "events")
    assert len(shards) == 3 and sum(shard.closed for shard in shards) == 1
    assert main(["deliver", "--stream", "events", "--to", str(tmp_path / "out"),
                 "--once", "--max-records", "100"]) == 0
    _check_objects(local_objects(tmp_path / "out"), expected)


def test_a_second_delivery_of_the_same_stream_and_destination_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ingest.locks import exclusive, lock_path

    monkeypatch.setenv("SPARKIFY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SPARKIFY_STREAM", "events")
    out = tmp_path / "out"
    lock = lock_path(tmp_path / "state" / "locks", "deliver", "events", str(out.resolve()))
    with exclusive(lock, "a delivery in another process", wait=False):
        assert main(["deliver", "--to", str(out), "--once"]) == 75
    assert "a delivery of stream events to" in capsys.readouterr().err


def test_a_buffer_is_written_once_it_waited_max_seconds(aws: str, tmp_path: Path) -> None:
    import threading
    import time

    expected = _produce(tmp_path, shards=1, per_day=10)
    out = tmp_path / "out"
    stop = threading.Event()
    delivery = Delivery(kinesis_client(KinesisEndpoint.resolve(None, None)), "events",
                        Destination(parse_source(str(out))),
                        Checkpoints(tmp_path / "cp.sqlite", "events", str(out)),
                        Limits(max_records=10_000, max_seconds=0.5, poll_seconds=0.05), stop)
    worker = threading.Thread(target=delivery.run, kwargs={"once": False})
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
                not (out / "log_data").is_dir()
                or sum(lines_of(local_objects(out)).values()) < len(expected)):
            time.sleep(0.05)
        assert worker.is_alive(), "still running: the time limit wrote the buffer"
        _check_objects(local_objects(out), expected)
    finally:
        stop.set()
        worker.join(10)
    assert delivery.report.records == len(expected)
