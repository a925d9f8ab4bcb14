"""No bare name of a project relation in a model's SQL: `from us_states` instead of
`{{ ref('us_states') }}` reads whatever table of that name the session's default schema has,
and hides the dependency from dbt. dbt-bouncer's check_model_hard_coded_references catches
schema-qualified names only; this catches the bare ones, ignoring the query's own CTEs,
`from` inside function calls (`extract(hour from t)`) and comments."""


import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dbt_bouncer.check_framework.decorator import check, fail

_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
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
_PLACEHOLDER = "__jinja__"


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    line: int


@dataclass(frozen=True)
class BareName:
    """A one-part relation name after `from` or `join`, outside the CTE it may name."""

    keyword: str
    name: str
    line: int


def _without_jinja(sql: str) -> str:
    """Jinja removed (`{{ ref(...) }}` becomes a word no table has), newlines kept."""
    return _JINJA.sub(lambda match: f" {_PLACEHOLDER} " + "\n" * match.group(0).count("\n"),
                      sql)


def _tokens(sql: str) -> Iterator[Token]:
    line, position = 1, 0
    for match in _TOKEN.finditer(_without_jinja(sql)):
        line += match.string.count("\n", position, match.start())
        position = match.start()
        if match.lastgroup != "comment":
            yield Token(str(match.lastgroup), match.group(0), line)


def _unquote(text: str) -> str:
    return text[1:-1] if text[:1] in {'"', "`"} else text


def bare_names(sql: str) -> list[BareName]:
    """Unqualified names after a clause `from`/`join` that are not a CTE of the query
    (a CTE's own body may read a table of its name: `x as (select * from x)`)."""
    tokens = list(_tokens(sql))
    found: list[tuple[BareName, frozenset[str]]] = []
    ctes: set[str] = set()
    # per open parenthesis: does it open a query, and the CTE it is the body of
    stack: list[tuple[bool, str | None]] = []
    for index, token in enumerate(tokens):
        if token.text == "(":
            following = tokens[index + 1].text.lower() if index + 1 < len(tokens) else ""
            is_query = following in _QUERY_STARTS
            cte = None
            if (index >= 2 and is_query and tokens[index - 1].text.lower() == "as"
                    and tokens[index - 2].kind in {"word", "quoted"}):
                cte = _unquote(tokens[index - 2].text).lower()
                ctes.add(cte)
            stack.append((is_query, cte))
            continue
        if token.text == ")":
            if stack:
                stack.pop()
            continue
        keyword = token.text.lower()
        if token.kind != "word" or keyword not in {"from", "join"}:
            continue
        if stack and not stack[-1][0]:
            continue  # a function's `from`
        following_tokens = tokens[index + 1:index + 3]
        if not following_tokens or following_tokens[0].kind not in {"word", "quoted"}:
            continue
        if len(following_tokens) > 1 and following_tokens[1].text == ".":
            continue  # schema-qualified: check_model_hard_coded_references
        name = _unquote(following_tokens[0].text).lower()
        if name == _PLACEHOLDER:
            continue  # `from {{ ref(...) }}`
        defining = frozenset(cte for _, cte in stack if cte)
        found.append((BareName(keyword, name, token.line), defining))
    return [bare for bare, defining in found if bare.name not in ctes or bare.name in defining]


def _project_relations(ctx: Any) -> dict[str, str]:
    """Lower-cased names of the project's models, seeds and source tables, and how to
    reference each."""
    known: dict[str, str] = {}
    for node in [*ctx.models, *ctx.seeds]:
        for name in {node.name, getattr(node, "alias", None) or node.name}:
            known[str(name).lower()] = f"ref('{node.name}')"
    for wrapped in ctx.sources:
        source = getattr(wrapped, "source", wrapped)  # the context's sources are wrapped
        for name in {source.name, getattr(source, "identifier", None) or source.name}:
            known[str(name).lower()] = f"source('{source.source_name}', '{source.name}')"
    return known


@check
def check_model_reads_project_relations_through_ref(model: Any, ctx: Any) -> None:
    """Models must reach the project's models, seeds and sources only through ref() and
    source(), never by their bare table name."""
    known = _project_relations(ctx)
    problems = [f"line {bare.line}: `{bare.keyword} {bare.name}` names a project relation "
                f"directly: use {{{{ {known[bare.name]} }}}}"
                for bare in bare_names(str(getattr(model, "raw_code", "") or ""))
                if bare.name in known]
    if problems:
        fail(f"`{model.name}`: " + "; ".join(problems))
