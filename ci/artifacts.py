"""Reading dbt's target/manifest.json: the nodes the checks look at, and how to report."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Node = dict[str, Any]

# The project's layers: the folder under models/ and the name prefixes allowed in it.
LAYER_PREFIXES: dict[str, tuple[str, ...]] = {
    "staging": ("stg_",),
    "intermediate": ("int_",),
    "marts": ("fct_", "dim_"),
}


@dataclass(frozen=True)
class Problem:
    """One failed rule, on one node: `rule` groups them, `message` says what to do."""

    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class Manifest:
    """The parts of a dbt manifest (schema v12, dbt 1.11) that the checks need."""

    def __init__(self, data: dict[str, Any], project: str | None = None) -> None:
        self.data = data
        self.project = project or str(data.get("metadata", {}).get("project_name") or "")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        if not path.exists():
            raise SystemExit(f"error: {path} not found: run `dbt parse` first (make ci does)")
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def _own(self, nodes: Iterable[Node]) -> Iterator[Node]:
        for node in nodes:
            if not self.project or node.get("package_name") == self.project:
                yield node

    def nodes(self, resource_type: str) -> list[Node]:
        found = (node for node in self.data.get("nodes", {}).values()
                 if node.get("resource_type") == resource_type)
        return sorted(self._own(found), key=lambda node: str(node["unique_id"]))

    @property
    def models(self) -> list[Node]:
        return self.nodes("model")

    @property
    def seeds(self) -> list[Node]:
        return self.nodes("seed")

    @property
    def analyses(self) -> list[Node]:
        return self.nodes("analysis")

    @property
    def tests(self) -> list[Node]:
        return self.nodes("test")

    @property
    def singular_tests(self) -> list[Node]:
        return [test for test in self.tests if not test.get("test_metadata")]

    @property
    def sources(self) -> list[Node]:
        found = self.data.get("sources", {}).values()
        return sorted(self._own(found), key=lambda node: str(node["unique_id"]))

    @property
    def exposures(self) -> list[Node]:
        found = self.data.get("exposures", {}).values()
        return sorted(self._own(found), key=lambda node: str(node["unique_id"]))

    def tests_on(self, unique_id: str) -> list[Node]:
        """The generic data tests attached to a node (column-level and model-level)."""
        attached = []
        for test in self.tests:
            if not test.get("test_metadata"):
                continue
            target = test.get("attached_node") or next(
                iter(test.get("depends_on", {}).get("nodes", [])), None)
            if target == unique_id:
                attached.append(test)
        return attached


def layer_of(node: Node) -> str | None:
    """`staging`, `intermediate`, `marts`… : the first folder under models/ (None at the top)."""
    parts = Path(str(node.get("original_file_path", ""))).parts
    if len(parts) >= 3 and parts[0] == "models":
        return parts[1]
    return None


def where(node: Node) -> str:
    """How a problem names a node: its name and the file that defines it."""
    return f"{node.get('name')} ({node.get('original_file_path')})"


def report(title: str, problems: list[Problem], summary: str,
           failed: bool | None = None) -> int:
    """Print the problems grouped by rule, then the verdict; the exit code.

    `failed` defaults to "there are problems"; a check with a bar below 100% lists what is
    missing and passes while the bar is met.
    """
    failed = bool(problems) if failed is None else failed
    rules: dict[str, list[Problem]] = {}
    for problem in problems:
        rules.setdefault(problem.rule, []).append(problem)
    for rule, found in rules.items():
        print(f"  [{rule}]")
        for problem in found:
            print(f"    - {problem}")
    verdict = "FAILED" if failed else "OK"
    count = f", {len(problems)} problem(s)" if problems else ""
    print(f"{title}: {verdict}{count}. {summary}")
    return 1 if failed else 0
