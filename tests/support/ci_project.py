"""Temporary copies of the dbt project, for tests that change it (the real tree is never
touched), and the helpers that parse and list them without a warehouse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ingest.run.dbt import run_dbt
from tests.support.manifest import Manifest
from tests.support.project import PROJECT_DIR

DBT_FILES = ("dbt_project.yml", "models", "macros", "seeds", "profiles", "tests/dbt",
             "tests/generic", "analyses")
LINT_FILES = (".sqlfluff", ".sqlfluffignore", "checks", "dbt-bouncer.yml")


def copy_project(destination: Path, names: tuple[str, ...] = DBT_FILES + LINT_FILES) -> Path:
    """Copy the project's dbt (and lint) files into `destination`; return it."""
    for name in names:
        source = PROJECT_DIR / name
        if not source.exists():
            continue
        target = destination / name
        if source.is_dir():
            shutil.copytree(source, target,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def edit(path: Path, old: str, new: str) -> None:
    """Replace `old` (which must be there) by `new` in a file of a copy."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def parse(project: Path, target_path: Path | None = None) -> Manifest:
    """`dbt parse` (target postgres: nothing connects) and the manifest it wrote."""
    target_path = target_path or project / "target"
    run_dbt(project, ["parse", "--target-path", str(target_path), "--quiet"],
            target="postgres")
    return Manifest.load(target_path / "manifest.json")


def ls(project: Path, *args: str) -> dict[str, str]:
    """`dbt ls <args>`: unique_id -> resource_type of every node it selects."""
    lines = run_dbt(project, ["ls", "--output", "json", "--output-keys", "unique_id",
                              "resource_type", "--quiet", *args], target="postgres")
    found = [json.loads(line) for line in lines or []]
    return {str(item["unique_id"]): str(item["resource_type"]) for item in found}
