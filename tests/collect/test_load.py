"""The load test in its short form: seconds at 1, 10 and 50 clients against a collector
process, errors 0, and the stream holds exactly the accepted events. No speed is asserted:
the figures are bench/collect/levels.py's (BENCHMARKS.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.collect.levels import main as collect_bench
from bench.collect.load import LoadPlan, run_load
from tests.support.collector import DAY, collector_process, events
from tests.support.raw_lines import log_key

pytestmark = pytest.mark.aws


def test_load_at_1_10_and_50_clients_loses_and_doubles_nothing(
        kinesis_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = events(3000)
    delivered: Counter[bytes] = Counter()
    with collector_process(kinesis_endpoint, tmp_path / "state") as (_process, collector):
        for clients, batch in [(1, 100), (10, 100), (50, 100), (10, 1)]:
            result = run_load(LoadPlan(collector.url, collector.key, clients, batch,
                                       seconds=1.0), lines)
            assert result.errors == 0 and result.requests >= clients, result.summary()
            assert result.accepted == sum(result.delivered.values()), result.summary()
            delivered += result.delivered
        # the bundled tool, as the docs run it: each event of a source once
        path = tmp_path / "source" / log_key(DAY)
        path.parent.mkdir(parents=True)
        path.write_bytes(b"\n".join(lines[:250]))
        monkeypatch.setenv("SPARKIFY_COLLECT_API_KEY", collector.key)
        assert collect_bench(["--url", collector.url, "--source", str(tmp_path / "source"),
                              "--clients", "3", "--batch", "40"]) == 0
        assert "250 accepted, 0 rejected, 0 errors" in capsys.readouterr().out
        delivered += Counter(lines[:250])
        assert collector.stream_lines() == delivered
