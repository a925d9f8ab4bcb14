"""The build marker's project fingerprint: it changes with the dbt project's files, and
only with them (no JVM, no database)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ingest.paths import StatePaths
from ingest.run.builds import PROJECT_PARTS, BuildMarker, project_fingerprint
from tests.support.project import PROJECT_DIR


def _copy(destination: Path) -> Path:
    for part in (*PROJECT_PARTS, "README.md"):
        source = PROJECT_DIR / part
        if source.is_dir():
            shutil.copytree(source, destination / part)
        else:
            (destination / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / part)
    return destination


def test_the_fingerprint_follows_the_dbt_files_only(tmp_path: Path) -> None:
    project = _copy(tmp_path / "project")
    first = project_fingerprint(project)
    assert project_fingerprint(project) == first == project_fingerprint(PROJECT_DIR)

    (project / "README.md").write_text("not part of the build\n", encoding="utf-8")
    assert project_fingerprint(project) == first

    model = project / "models" / "marts" / "dim_users.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    changed = project_fingerprint(project)
    assert changed != first

    (project / "macros" / "extra.sql").write_text("{% macro extra() %}{% endmacro %}\n",
                                                  encoding="utf-8")
    assert project_fingerprint(project) not in {first, changed}


def test_a_marker_of_another_project_is_not_current(tmp_path: Path) -> None:
    marker = BuildMarker.of(StatePaths(tmp_path), "spark@x", "raw", "marts")
    assert not marker.is_current()
    marker.record_built()
    assert marker.is_current()
    marker.path.write_text("the marts were built from everything staged, with project 0\n",
                           encoding="utf-8")
    assert not marker.is_current()
    marker.path.write_text("the marts were built from everything staged\n", encoding="utf-8")
    assert not marker.is_current(), "a marker from before fingerprints builds again"
