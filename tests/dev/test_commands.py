"""`python -m ingest dev`'s options, checked before anything starts."""

from __future__ import annotations

import pytest

from ingest.cli import main


@pytest.mark.parametrize("builds", ["0", "-1", "two", "1.5"])
def test_builds_must_be_a_positive_whole_number(builds: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["dev", "--builds", builds])
    assert stopped.value.code == 2
    assert "--builds" in capsys.readouterr().err
