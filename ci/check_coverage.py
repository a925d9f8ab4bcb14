"""Docs and key-test coverage of the dbt project, from target/manifest.json alone.

The bar (100% by default) applies to:

- docs: every model, seed and source table has a description, and so does every column
  declared for it in YAML (the marts' enforced contracts make their YAML complete; columns
  missing from the YAML of a view are caught by `make coverage-catalog`, which needs a
  warehouse);
- key tests: every model has a primary-key test, i.e. `unique` and `not_null` on the same
  column, or the project's `unique_combination_of_columns` test;
- mart descriptions: every mart's description has the sections that tell a reader what a
  row is, the grain and the keys (and, for `fct_songplays`, how plays are matched to songs).

Usage: python -m ci.check_coverage [target/ci/manifest.json] [--min-docs 100] [--min-keys 100]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ci.artifacts import Manifest, Node, Problem, layer_of, report, where

KEY_TEST_COMBINATION = "unique_combination_of_columns"
# The bold labels a mart's description must have (the docs blocks in models/*.md use them).
MART_SECTIONS = ("**Row:**", "**Grain:**", "**Keys:**")
EXTRA_SECTIONS = {"fct_songplays": ("**Matching:**",)}


@dataclass
class Coverage:
    """Counts for the summary line, and what is missing."""

    documented: int = 0
    documentable: int = 0
    keyed: int = 0
    models: int = 0
    problems: list[Problem] = field(default_factory=list)

    def percent(self, part: int, whole: int) -> float:
        return 100.0 if whole == 0 else 100.0 * part / whole


def _described(item: Node) -> bool:
    return bool(str(item.get("description") or "").strip())


def _check_docs(coverage: Coverage, kind: str, node: Node, name: str) -> None:
    coverage.documentable += 1
    if _described(node):
        coverage.documented += 1
    else:
        coverage.problems.append(Problem(
            "docs", where(node), f"{kind} `{name}` has no description"))
    for column in node.get("columns", {}).values():
        coverage.documentable += 1
        if _described(column):
            coverage.documented += 1
        else:
            coverage.problems.append(Problem(
                "docs", where(node),
                f"column `{column.get('name')}` of {kind} `{name}` has no description"))


def key_test_of(manifest: Manifest, model: Node) -> str | None:
    """What makes the model's primary key tested, or None."""
    unique: set[str] = set()
    not_null: set[str] = set()
    for test in manifest.tests_on(str(model["unique_id"])):
        metadata = test.get("test_metadata") or {}
        name = str(metadata.get("name") or "")
        column = test.get("column_name") or (metadata.get("kwargs") or {}).get("column_name")
        if name == KEY_TEST_COMBINATION:
            columns = (metadata.get("kwargs") or {}).get("combination_of_columns") or []
            return f"{KEY_TEST_COMBINATION}({', '.join(map(str, columns))})"
        if name == "unique" and column:
            unique.add(str(column))
        elif name == "not_null" and column:
            not_null.add(str(column))
    both = sorted(unique & not_null)
    return f"unique + not_null on {both[0]}" if both else None


def _check_key(coverage: Coverage, manifest: Manifest, model: Node) -> None:
    coverage.models += 1
    if key_test_of(manifest, model):
        coverage.keyed += 1
        return
    coverage.problems.append(Problem(
        "key tests", where(model),
        f"model `{model['name']}` has no primary-key test: add `unique` and `not_null` to its "
        f"key column, or a `{KEY_TEST_COMBINATION}` test on the model"))


def _check_mart_description(coverage: Coverage, model: Node) -> None:
    name = str(model["name"])
    description = str(model.get("description") or "")
    wanted = MART_SECTIONS + EXTRA_SECTIONS.get(name, ())
    missing = [section for section in wanted if section not in description]
    if missing:
        coverage.problems.append(Problem(
            "mart descriptions", where(model),
            f"the description of mart `{name}` lacks {', '.join(missing)} "
            "(say what a row is, the grain and the keys; see models/_sparkify__docs.md)"))


@dataclass(frozen=True)
class CoverageResult:
    problems: list[Problem]
    summary: str
    passed: bool


def check_coverage(manifest: Manifest, min_docs: float = 100.0,
                   min_keys: float = 100.0) -> CoverageResult:
    """Everything missing, a one-line summary, and whether the bars are met. A mart
    description without its sections always fails."""
    coverage = Coverage()
    for model in manifest.models:
        _check_docs(coverage, "model", model, str(model["name"]))
        _check_key(coverage, manifest, model)
        if layer_of(model) == "marts":
            _check_mart_description(coverage, model)
    for seed in manifest.seeds:
        _check_docs(coverage, "seed", seed, str(seed["name"]))
    for source in manifest.sources:
        _check_docs(coverage, "source table", source,
                    f"{source['source_name']}.{source['name']}")

    docs = coverage.percent(coverage.documented, coverage.documentable)
    keys = coverage.percent(coverage.keyed, coverage.models)
    summary = (f"docs {coverage.documented}/{coverage.documentable} ({docs:.1f}%, bar "
               f"{min_docs:g}%); key tests {coverage.keyed}/{coverage.models} models "
               f"({keys:.1f}%, bar {min_keys:g}%)")
    passed = (docs >= min_docs and keys >= min_keys
              and not any(p.rule == "mart descriptions" for p in coverage.problems))
    return CoverageResult(coverage.problems, summary, passed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("manifest", nargs="?", type=Path,
                        default=Path("target/ci/manifest.json"))
    parser.add_argument("--min-docs", type=float, default=100.0,
                        help="percent of models, seeds, sources and their columns described")
    parser.add_argument("--min-keys", type=float, default=100.0,
                        help="percent of models with a primary-key test")
    args = parser.parse_args(argv)
    result = check_coverage(Manifest.load(args.manifest), args.min_docs, args.min_keys)
    return report("coverage", result.problems, result.summary, failed=not result.passed)


if __name__ == "__main__":
    sys.exit(main())
