"""The dbt project's own files, as one digest: what a build's result depends on besides the
staged rows, and what a parse of the project depends on besides its settings."""

from __future__ import annotations

import hashlib
from pathlib import Path

# What a build's result depends on besides the staged rows: the dbt project's own files.
PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "seeds", "tests/dbt", "tests/generic")


def project_fingerprint(project: Path) -> str:
    """A digest of the dbt project's files (names and contents): it changes when a model,
    macro, seed or dbt test changes, and only then."""
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        root = project / part
        files = [root] if root.is_file() else sorted(
            path for path in root.rglob("*") if path.is_file()
            and "__pycache__" not in path.parts)
        for path in files:
            digest.update(path.relative_to(project).as_posix().encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]
