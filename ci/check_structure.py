"""The project's structure rules, checked from target/manifest.json.

- layers: staging models select only from sources; no other model selects from a source
  (marts and intermediate models go through staging);
- naming: `stg_` models live in models/staging/, `int_` in models/intermediate/, `fct_` and
  `dim_` in models/marts/, and every model is in one of those folders with its prefix;
- relations: the SQL of models, analyses and singular tests reaches tables only through
  ref() and source(): no `from schema.table`, no `join schema.table`, and no bare name of a
  model, seed or source table that is not one of the query's own CTEs;
- freshness: every source table has a freshness rule with a `loaded_at_field`, or says why
  not in `meta: {freshness_exempt_reason: ...}` (on the table or on the source);
- exposures: every exposure has an owner with a name and an email, and depends on something.

Usage: python -m ci.check_structure [target/ci/manifest.json]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ci.artifacts import LAYER_PREFIXES, Manifest, Node, Problem, layer_of, report, where

FRESHNESS_EXEMPT_KEY = "freshness_exempt_reason"
JINJA_PLACEHOLDER = "__jinja__"

_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
_JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<string>'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")*"|`[^`]*`)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<punct>[().,;])
    | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)
_QUERY_STARTS = {"select", "with"}


@dataclass(frozen=True)
class Relation:
    """A relation named after `from` or `join` in raw SQL."""

    keyword: str
    parts: tuple[str, ...]
    line: int
    # the CTEs whose body this relation is in: `x as (select * from x)` reads a table x
    defining: frozenset[str] = frozenset()

    @property
    def text(self) -> str:
        return ".".join(self.parts)


def _blank_out(match: re.Match[str]) -> str:
    """Keep the newlines of a removed span, so line numbers still match the file."""
    return "\n" * match.group(0).count("\n")


def strip_jinja(sql: str) -> str:
    """Raw SQL with Jinja comments and tags removed and each `{{ … }}` made a placeholder."""
    sql = _JINJA_COMMENT.sub(_blank_out, sql)
    sql = _JINJA_STATEMENT.sub(_blank_out, sql)
    return _JINJA_EXPRESSION.sub(
        lambda match: f" {JINJA_PLACEHOLDER} " + "\n" * match.group(0).count("\n"), sql)


def _tokens(sql: str) -> Iterator[tuple[str, str, int]]:
    """(kind, text, line) for each token of the SQL, comments dropped."""
    line = 1
    position = 0
    for match in _TOKEN.finditer(sql):
        line += sql.count("\n", position, match.start())
        position = match.start()
        kind = str(match.lastgroup)
        if kind != "comment":
            yield kind, match.group(0), line


def _unquote(text: str) -> str:
    if text[:1] in {'"', "`"}:
        return text[1:-1]
    return text


def relations_in(sql: str) -> tuple[list[Relation], set[str]]:
    """The relations after `from`/`join` clause keywords of raw SQL, and the CTE names.

    A `from` inside a function call (`extract(hour from t)`, `trim(both from x)`) is not a
    clause keyword: only a `from` at the top of a query, or inside parentheses that open a
    query (`(select …`, `(with …`), counts.
    """
    tokens = list(_tokens(strip_jinja(sql)))
    relations: list[Relation] = []
    ctes: set[str] = set()
    # For each open parenthesis: does it hold a query (its first token is select/with), and
    # the CTE it is the body of, if any.
    stack: list[tuple[bool, str | None]] = []
    for index, (kind, text, line) in enumerate(tokens):
        lowered = text.lower()
        if text == "(":
            following = tokens[index + 1][1].lower() if index + 1 < len(tokens) else ""
            is_query = following in _QUERY_STARTS
            previous = tokens[index - 1] if index >= 1 else None
            before = tokens[index - 2] if index >= 2 else None
            cte = None
            if (previous and previous[1].lower() == "as" and before
                    and before[0] in {"word", "quoted"} and is_query):
                cte = _unquote(before[1]).lower()
                ctes.add(cte)
            stack.append((is_query, cte))
            continue
        if text == ")":
            if stack:
                stack.pop()
            continue
        in_query = not stack or stack[-1][0]
        if kind != "word" or lowered not in {"from", "join"} or not in_query:
            continue
        parts: list[str] = []
        cursor = index + 1
        while cursor < len(tokens) and tokens[cursor][0] in {"word", "quoted"}:
            parts.append(_unquote(tokens[cursor][1]))
            if cursor + 1 < len(tokens) and tokens[cursor + 1][1] == ".":
                cursor += 2
                continue
            break
        if parts:
            defining = frozenset(cte for _, cte in stack if cte)
            relations.append(Relation(lowered, tuple(parts), line, defining))
    return relations, ctes


def known_relations(manifest: Manifest) -> dict[str, str]:
    """Lower-cased names of models, seeds and source tables, with how to reference them."""
    known: dict[str, str] = {}
    for node in manifest.models + manifest.seeds:
        for name in {str(node["name"]), str(node.get("alias") or node["name"])}:
            known[name.lower()] = f"ref('{node['name']}')"
    for source in manifest.sources:
        for name in {str(source["name"]), str(source.get("identifier") or source["name"])}:
            known[name.lower()] = f"source('{source['source_name']}', '{source['name']}')"
    return known


def check_relations(node: Node, known: dict[str, str]) -> list[Problem]:
    """Hard-coded schema.table names, or bare names of project relations, in raw SQL."""
    problems: list[Problem] = []
    relations, ctes = relations_in(str(node.get("raw_code") or ""))
    for relation in relations:
        if relation.parts[0] == JINJA_PLACEHOLDER and len(relation.parts) == 1:
            continue
        shown = relation.text.replace(JINJA_PLACEHOLDER, "{{ … }}")
        at = f"line {relation.line}: `{relation.keyword} {shown}`"
        if len(relation.parts) > 1:
            problems.append(Problem(
                "relations", where(node),
                f"{at} names a schema-qualified table: reach relations only through "
                "ref() or source()"))
            continue
        name = relation.parts[0].lower()
        if name in known and (name not in ctes or name in relation.defining):
            problems.append(Problem(
                "relations", where(node),
                f"{at} names a project relation directly: use {{{{ {known[name]} }}}}"))
    return problems


def check_layers(manifest: Manifest) -> list[Problem]:
    problems: list[Problem] = []
    for model in manifest.models:
        layer = layer_of(model)
        upstream = [str(node) for node in model.get("depends_on", {}).get("nodes", [])]
        sources = [node for node in upstream if node.startswith("source.")]
        others = [node for node in upstream if not node.startswith("source.")]
        if layer == "staging":
            if others:
                problems.append(Problem(
                    "layers", where(model),
                    f"staging model selects from {', '.join(others)}: staging models select "
                    "only from sources (use ref() to it in an intermediate model instead)"))
            if not sources:
                problems.append(Problem(
                    "layers", where(model), "staging model selects from no source"))
        elif sources:
            what = "mart" if layer == "marts" else f"{layer or 'top-level'} model"
            problems.append(Problem(
                "layers", where(model),
                f"{what} selects from {', '.join(sources)} directly: only staging models "
                "read sources; ref() the staging model instead"))
    return problems


def check_naming(manifest: Manifest) -> list[Problem]:
    problems: list[Problem] = []
    for model in manifest.models:
        name = str(model["name"])
        layer = layer_of(model)
        expected = LAYER_PREFIXES.get(layer or "")
        if expected is None:
            folders = ", ".join(f"models/{folder}/" for folder in LAYER_PREFIXES)
            problems.append(Problem(
                "naming", where(model), f"model is not in a layer folder ({folders})"))
        elif not name.startswith(expected):
            problems.append(Problem(
                "naming", where(model),
                f"models in models/{layer}/ are named {' or '.join(p + '*' for p in expected)}"))
        for folder, prefixes in LAYER_PREFIXES.items():
            if folder != layer and name.startswith(prefixes):
                problems.append(Problem(
                    "naming", where(model),
                    f"a {'/'.join(prefixes)} model belongs in models/{folder}/"))
    return problems


def _has_freshness(source: Node) -> bool:
    config = source.get("config") or {}
    freshness = config.get("freshness") or source.get("freshness") or {}
    rules = [freshness.get(key) or {} for key in ("warn_after", "error_after")]
    has_rule = any(rule.get("count") and rule.get("period") for rule in rules)
    loaded_at = (config.get("loaded_at_field") or source.get("loaded_at_field")
                 or config.get("loaded_at_query") or source.get("loaded_at_query"))
    return bool(has_rule and loaded_at)


def _exempt_reason(source: Node) -> str:
    for meta in (source.get("meta"), (source.get("config") or {}).get("meta"),
                 source.get("source_meta")):
        reason = (meta or {}).get(FRESHNESS_EXEMPT_KEY)
        if isinstance(reason, str) and reason.strip():
            return reason
    return ""


def check_freshness(manifest: Manifest) -> list[Problem]:
    problems: list[Problem] = []
    for source in manifest.sources:
        if _has_freshness(source) or _exempt_reason(source):
            continue
        problems.append(Problem(
            "freshness", f"{source['source_name']}.{source['name']} "
            f"({source.get('original_file_path')})",
            "source table has no freshness rule (warn_after/error_after with a "
            f"loaded_at_field) and no `meta: {{{FRESHNESS_EXEMPT_KEY}: ...}}` saying why not"))
    return problems


def check_exposures(manifest: Manifest) -> list[Problem]:
    problems: list[Problem] = []
    for exposure in manifest.exposures:
        owner = exposure.get("owner") or {}
        missing = [key for key in ("name", "email") if not str(owner.get(key) or "").strip()]
        if missing:
            problems.append(Problem(
                "exposures", where(exposure), f"owner has no {' and no '.join(missing)}"))
        if not exposure.get("depends_on", {}).get("nodes"):
            problems.append(Problem(
                "exposures", where(exposure), "exposure depends on nothing (depends_on: ref())"))
    return problems


def check_structure(manifest: Manifest) -> tuple[list[Problem], str]:
    """Every structure problem, and a one-line summary of what was checked."""
    known = known_relations(manifest)
    sql_nodes = manifest.models + manifest.analyses + manifest.singular_tests
    problems = check_layers(manifest) + check_naming(manifest)
    for node in sql_nodes:
        problems += check_relations(node, known)
    problems += check_freshness(manifest) + check_exposures(manifest)
    summary = (f"{len(manifest.models)} models, {len(sql_nodes)} SQL files, "
               f"{len(manifest.sources)} source tables, {len(manifest.exposures)} exposures")
    return problems, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("manifest", nargs="?", type=Path,
                        default=Path("target/ci/manifest.json"))
    args = parser.parse_args(argv)
    problems, summary = check_structure(Manifest.load(args.manifest))
    return report("structure", problems, summary)


if __name__ == "__main__":
    sys.exit(main())
