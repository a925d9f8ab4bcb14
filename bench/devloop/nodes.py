"""What one `dbt build` did, read from its own artifacts: the nodes' times from
target/run_results.json, and the SQL statements it sent, from logs/dbt.log.

dbt logs each statement as `On <node or connection>: <sql>` and, when it returns,
`SQL status: <status> in <seconds> seconds` from the same thread; the build must have its own
--log-path (dbt appends to dbt.log), so the file holds one invocation.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KINDS = ("model", "seed", "test", "unit_test")
_LINE = re.compile(r"^(?:\x1b\[\d+m)?\d\d:\d\d:\d\d\.\d+ \[\w+\s*\] \[(?P<thread>[^\]]*)\]: "
                   r"(?P<message>.*)$")
_STATEMENT = re.compile(r"^On (?P<connection>[\w.\-]+): (?P<sql>.*)$")
_STATUS = re.compile(r"^SQL status: \S+ in (?P<seconds>[\d.]+) seconds$")
_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)
_DROPPED_WORDS = frozenset({"or", "replace", "if", "not", "exists"})
# how many words name a statement's kind, by its first word (1 when not listed); `show
# table extended`, `describe table extended` and `create temporary view` take three
_KIND_WORDS = {"show": 2, "describe": 2, "create": 2, "drop": 2, "insert": 2, "alter": 2}
_THREE_WORDS = frozenset({("show", "table"), ("describe", "table"), ("create", "temporary")})
_NOT_STATEMENTS = frozenset({"Close"})


@dataclass(frozen=True)
class Node:
    """One node of the build: its id, kind (model, seed, test, unit_test) and seconds."""

    unique_id: str
    kind: str
    status: str
    seconds: float

    @property
    def name(self) -> str:
        """The node's name: a data test's id ends in a hash, so its name is the third part."""
        parts = self.unique_id.split(".")
        return parts[2] if self.kind == "test" and len(parts) > 3 else parts[-1]


@dataclass(frozen=True)
class Statement:
    """One SQL statement: who sent it, what kind it is, and how long it took."""

    connection: str
    kind: str
    seconds: float


@dataclass(frozen=True)
class BuildNodes:
    """The nodes of one build and its run phase (dbt's elapsed_time)."""

    nodes: tuple[Node, ...]
    run_phase_seconds: float

    def by_kind(self) -> dict[str, tuple[int, float]]:
        """Per kind of node: how many and their summed seconds."""
        found: dict[str, tuple[int, float]] = {}
        for node in self.nodes:
            count, seconds = found.get(node.kind, (0, 0.0))
            found[node.kind] = (count + 1, round(seconds + node.seconds, 2))
        return found

    def top(self, count: int = 8) -> tuple[Node, ...]:
        """The `count` slowest nodes."""
        return tuple(sorted(self.nodes, key=lambda node: -node.seconds)[:count])


def read_run_results(path: Path) -> BuildNodes:
    """The nodes and run phase of a run_results.json."""
    data = json.loads(path.read_text(encoding="utf-8"))
    nodes = tuple(
        Node(result["unique_id"], result["unique_id"].split(".", 1)[0], result["status"],
             round(float(result["execution_time"]), 3))
        for result in data["results"])
    return BuildNodes(nodes, round(float(data["elapsed_time"]), 2))


def statement_kind(sql: str) -> str:
    """`show table extended`, `describe extended`, `create view`, `insert overwrite`, `select`…"""
    words = [word.lower() for word in _COMMENT.sub(" ", sql).split()]
    words = [word for word in words if word not in _DROPPED_WORDS] or ["(empty)"]
    count = 3 if tuple(words[:2]) in _THREE_WORDS else _KIND_WORDS.get(words[0], 1)
    return " ".join(words[:count])


def read_statements(log: Path) -> tuple[Statement, ...]:
    """The statements of the one invocation in `log`, in the order they returned."""
    return tuple(_statements(log.read_text(encoding="utf-8", errors="replace").splitlines()))


def _statements(lines: Iterable[str]) -> Iterable[Statement]:
    pending: dict[str, tuple[str, list[str]]] = {}
    current: list[str] | None = None
    for line in lines:
        match = _LINE.match(line)
        if match is None:
            if current is not None:
                current.append(line)  # the statement's next lines
            continue
        current = None
        thread, message = match["thread"], match["message"]
        if (statement := _STATEMENT.match(message)) and statement["sql"] not in _NOT_STATEMENTS:
            current = [statement["sql"]]
            pending[thread] = (statement["connection"], current)
        elif (status := _STATUS.match(message)) and thread in pending:
            connection, sql = pending.pop(thread)
            yield Statement(connection, statement_kind("\n".join(sql)),
                            float(status["seconds"]))


def statement_counts(statements: Iterable[Statement]) -> Counter[str]:
    """How many statements of each kind."""
    return Counter(statement.kind for statement in statements)
