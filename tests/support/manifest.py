"""Reading dbt's target/manifest.json in tests: the project's own nodes by kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Node = dict[str, Any]


class Manifest:
    """The parts of a dbt manifest (schema v12, dbt 1.11) the tests look at."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.project = str(data.get("metadata", {}).get("project_name") or "")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def _own(self, section: str, resource_type: str | None = None) -> list[Node]:
        found = [node for node in self.data.get(section, {}).values()
                 if node.get("package_name") == self.project
                 and (resource_type is None or node.get("resource_type") == resource_type)]
        return sorted(found, key=lambda node: str(node["unique_id"]))

    @property
    def models(self) -> list[Node]:
        return self._own("nodes", "model")

    @property
    def tests(self) -> list[Node]:
        return self._own("nodes", "test")

    @property
    def sources(self) -> list[Node]:
        return self._own("sources")

    @property
    def exposures(self) -> list[Node]:
        return self._own("exposures")
