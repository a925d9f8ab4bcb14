"""Stand-ins for dbt's Jinja context, so sqlfluff's `jinja` templater renders the project.

sqlfluff loads this package through `library_path` (see `.sqlfluff`): every public name
below becomes a Jinja global, next to sqlfluff's own dbt builtins (`ref`, `source`,
`config`, `is_incremental`, `this`) and the project's macros (`load_macros_from_path`).
Nothing here starts Spark or opens a connection.

The engine comes from the `target` context variable (`.sqlfluff` sets `spark`;
`checks/sqlfluff/redshift.cfg` sets `redshift`), so `adapter.dispatch` picks the same macro
variant dbt would, and `dbt.type_int()` & co. give that engine's SQL.
"""

from __future__ import annotations

import datetime
import itertools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml  # type: ignore[import-untyped]
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlfluff.core.templaters.builtins.dbt import MacroReturn

__all__ = ["adapter", "dbt", "env_var", "modules", "sparkify", "var"]

_PROJECT_FILE = Path(__file__).resolve().parents[3] / "dbt_project.yml"
_SEARCH_ORDER = {
    "spark": ("spark", "default"),
    "postgres": ("postgres", "default"),
    "redshift": ("redshift", "postgres", "default"),
}
_MISSING = object()


class StubError(Exception):
    """A dbt feature these stubs do not provide: the message says where to add it."""


def _target_type(context: Context) -> str:
    target = context.get("target")
    if isinstance(target, dict):
        return str(target.get("type", "spark"))
    return "spark"


def _project_vars() -> dict[str, Any]:
    if not _PROJECT_FILE.exists():
        return {}
    project = yaml.safe_load(_PROJECT_FILE.read_text(encoding="utf-8")) or {}
    found = project.get("vars") or {}
    return dict(found) if isinstance(found, dict) else {}


@pass_context
def var(context: Context, name: str, default: Any = _MISSING) -> Any:
    """dbt's `var()`: the `dbt_vars` context dict, then dbt_project.yml, then the default."""
    overrides = context.get("dbt_vars")
    if isinstance(overrides, dict) and name in overrides:
        return overrides[name]
    project_vars = _project_vars()
    if name in project_vars:
        return project_vars[name]
    if default is not _MISSING:
        return default
    raise StubError(f"var('{name}') has no value: give it a default, define it in "
                    "dbt_project.yml, or add it to dbt_vars in .sqlfluff")


def env_var(name: str, default: Any = _MISSING) -> Any:
    """dbt's `env_var()`: the environment, then the default."""
    if name in os.environ:
        return os.environ[name]
    if default is not _MISSING:
        return default
    raise StubError(f"env_var('{name}') is not set and has no default")


def _fields(fields: Sequence[str]) -> list[str]:
    return [str(field) for field in fields]


def _engine_sql(**variants: str) -> Callable[[Context], str]:
    """A dbt cross-database macro whose SQL is a fixed string per engine."""

    @pass_context
    def render(context: Context) -> str:
        engine = _target_type(context)
        return variants.get(engine, variants["default"])

    return render


@pass_context
def _hash(context: Context, field: str) -> str:
    string = "string" if _target_type(context) == "spark" else "varchar"
    return f"md5(cast({field} as {string}))"


@pass_context
def _concat(context: Context, fields: Sequence[str]) -> str:
    if _target_type(context) == "spark":
        return f"concat({', '.join(_fields(fields))})"
    return " || ".join(_fields(fields))


def _safe_cast(field: str, type_name: str) -> str:
    return f"cast({field} as {type_name})"


def _date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def _split_part(string_text: str, delimiter_text: str, part_number: int) -> str:
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


class _DbtNamespace(SimpleNamespace):
    """`dbt.<macro>()`: the cross-database macros the project calls."""

    def __getattr__(self, name: str) -> Any:
        raise StubError(f"dbt.{name}() has no sqlfluff stub: add one to {__file__}")


dbt = _DbtNamespace(
    type_int=_engine_sql(spark="int", default="integer"),
    type_bigint=_engine_sql(default="bigint"),
    type_string=_engine_sql(spark="string", default="varchar"),
    type_timestamp=_engine_sql(default="timestamp"),
    type_float=_engine_sql(spark="double", default="float"),
    type_numeric=_engine_sql(default="numeric(28, 6)"),
    type_boolean=_engine_sql(default="boolean"),
    current_timestamp=_engine_sql(spark="current_timestamp()", redshift="getdate()",
                                  default="now()"),
    hash=_hash,
    concat=_concat,
    safe_cast=_safe_cast,
    date_trunc=_date_trunc,
    split_part=_split_part,
)


@pass_context
def _dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Any:
    """`adapter.dispatch()`: the first `<engine>__<name>` macro in dbt's search order."""
    for prefix in _SEARCH_ORDER.get(_target_type(context), ("default",)):
        found = context.get(f"{prefix}__{macro_name}")
        if found is not None:
            return found
    builtin = vars(dbt).get(macro_name) if macro_namespace in (None, "dbt") else None
    if builtin is not None:
        return builtin
    raise StubError(f"adapter.dispatch('{macro_name}'): no {_target_type(context)}__, "
                    f"default__ or stub variant found")


adapter = SimpleNamespace(dispatch=_dispatch)


class _ProjectNamespace:
    """`sparkify.<macro>()`: the project's own macros, called through its namespace."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        @pass_context
        def call(context: Context, *args: Any, **kwargs: Any) -> Any:
            macro = context.get(name)
            if macro is None:
                raise StubError(f"sparkify.{name}(): no macro of that name in macros/")
            try:
                return macro(*args, **kwargs)
            except MacroReturn as returned:
                # dbt's return(): this call is the macro boundary that owns it (a call
                # through this namespace is not a Jinja Macro, so sqlfluff does not stop it)
                return returned.value

        return call


sparkify = _ProjectNamespace()

modules = SimpleNamespace(datetime=datetime, re=re, itertools=itertools)
