"""The one way from a target to a stage: every target the `stage` command offers has one
stage in the dispatch, and a request lacking what its target needs is refused before
anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.cli import build_parser
from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.raw.sources import parse_source
from ingest.stage import dispatch
from ingest.stage.dispatch import TARGETS, StageRequest, Target, stage_target
from tests.support.project import FIXTURES

RAW = str(FIXTURES / "raw_handwritten")


def test_every_target_of_the_stage_command_has_one_stage() -> None:
    parser = build_parser()
    for target in TARGETS:
        assert parser.parse_args(["stage", "--source", RAW, "--target", target]).target == target
    with pytest.raises(SystemExit):
        parser.parse_args(["stage", "--source", RAW, "--target", "duckdb"])
    assert set(dispatch._STAGES) == set(TARGETS)


@pytest.mark.parametrize(("target", "message"), [
    ("postgres", "--target postgres needs its connection settings"),
    ("redshift", "--target redshift needs --iam-role"),
])
def test_a_warehouse_target_without_what_it_needs_is_refused(
    target: Target, message: str, tmp_path: Path
) -> None:
    request = StageRequest(target, parse_source(RAW), "sparkify_raw",
                           StatePaths(tmp_path / "state"))
    with pytest.raises(IngestError, match=message):
        stage_target(request)
    assert not (tmp_path / "state").exists(), "nothing ran"
