"""The shape of the Python code: layers that only import downward, no cycles, small modules,
and an installed package that needs none of the dev-only libraries.

The import rules live in `.importlinter` and are checked by import-linter (`lint-imports`);
these tests run it on the tree, and on a copy with one rule broken on purpose, so a contract
that no longer checks anything fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.project import PROJECT_DIR

MAX_MODULE_LINES = 400
# what only `make bench`, the tests and the local sample need: extras, never dependencies
DEV_ONLY = {"psutil", "matplotlib", "duckdb", "pytest", "selenium", "moto", "ruff", "mypy",
            "sqlfluff", "dbt-bouncer", "dbt-coverage", "import-linter", "pre-commit",
            "streamlit", "plotly", "kaleido"}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the tree at `root`: its `.importlinter`, its packages first on the path."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                               "sys.exit(lint_imports_command())", "--no-cache", "--no-logo"],
        cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_import_contracts_hold() -> None:
    result = lint_imports(PROJECT_DIR)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    kept = re.findall(r"^(.+) KEPT", result.stdout, flags=re.MULTILINE)
    assert len(kept) == 3, result.stdout  # layers, no cycles, no dev-only imports


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("ingest/raw/contract.py", "import ingest.run.dbt", "ingest.raw is not allowed to import"),
    ("ingest/raw/verify.py", "import psutil", "ingest.raw.verify -> psutil"),
    ("ingest/stage/core.py", "import bench.batch.cli", "ingest.stage.core -> bench"),
    ("bench/stream/latency.py", "import bench.collect.load",
     "bench.stream.latency -> bench.collect.load"),
    ("bench/common/memory.py", "import bench.batch.steps", "bench.common.memory -> bench.batch"),
], ids=["upward-edge", "dev-only-library", "bench-from-ingest", "benchmark-from-benchmark",
        "common-from-benchmark"])
def test_a_broken_rule_is_reported(tmp_path: Path, module: str, line: str, broken: str) -> None:
    """The contracts catch an upward import and a dev-only library, naming the edge."""
    for part in ("ingest", "bench"):
        shutil.copytree(PROJECT_DIR / part, tmp_path / part,
                        ignore=shutil.ignore_patterns("__pycache__", "results"))
    shutil.copy(PROJECT_DIR / ".importlinter", tmp_path / ".importlinter")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout[-3000:]


def test_no_module_is_long() -> None:
    lengths = {path.relative_to(PROJECT_DIR).as_posix(): len(path.read_text().splitlines())
               for path in sorted((PROJECT_DIR / "ingest").rglob("*.py"))}
    assert len(lengths) > 30
    long = {path: lines for path, lines in lengths.items() if lines > MAX_MODULE_LINES}
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines: split them by job"


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=~!;]", requirement, maxsplit=1)[0].lower()


def test_the_installed_package_needs_no_dev_only_library() -> None:
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    needs = {_name(requirement) for requirement in project["dependencies"]}
    assert "dbt-core" in needs
    assert needs & DEV_ONLY == set()
    extras = project["optional-dependencies"]
    assert {_name(r) for r in extras["bench"]} >= {"psutil", "matplotlib", "duckdb"}
    assert {_name(r) for r in extras["sample"]} == {"moto"}
    assert {_name(r) for r in extras["dashboard"]} >= {"streamlit", "plotly", "duckdb"}
