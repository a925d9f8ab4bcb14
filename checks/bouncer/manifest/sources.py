"""Source freshness, or a reason why not. dbt-bouncer's check_source_freshness_populated
has no way to exempt one table with a stated reason (reference data that arrives in
irregular batches has no meaningful freshness)."""


from typing import Any

from dbt_bouncer.check_framework.decorator import check, fail

EXEMPT_KEY = "freshness_exempt_reason"


def _has_rule(source: Any) -> bool:
    freshness = getattr(source, "freshness", None)
    rules = [getattr(freshness, key, None) for key in ("warn_after", "error_after")]
    has_rule = any(getattr(rule, "count", None) and getattr(rule, "period", None)
                   for rule in rules)
    loaded_at = getattr(source, "loaded_at_field", None) or getattr(
        source, "loaded_at_query", None)
    return bool(has_rule and loaded_at)


def _exempt_reason(source: Any) -> str:
    config = getattr(source, "config", None)
    for meta in (getattr(source, "meta", None), getattr(config, "meta", None),
                 getattr(source, "source_meta", None)):
        reason = (meta or {}).get(EXEMPT_KEY)
        if isinstance(reason, str) and reason.strip():
            return reason
    return ""


@check
def check_source_freshness_or_exempt_reason(source: Any) -> None:
    """Source tables must have a freshness rule (warn_after/error_after and a
    loaded_at_field), or say why not in `meta: {freshness_exempt_reason: ...}`."""
    if _has_rule(source) or _exempt_reason(source):
        return
    fail(f"`{source.source_name}.{source.name}` has no freshness rule (warn_after/error_after "
         f"with a loaded_at_field) and no `meta: {{{EXEMPT_KEY}: ...}}` saying why not")


@check
def check_source_columns_described(source: Any) -> None:
    """Columns declared for a source table must have a description (dbt-bouncer checks
    source columns only against the warehouse's catalog)."""
    missing = sorted(name for name, column in (getattr(source, "columns", None) or {}).items()
                     if not str(getattr(column, "description", "") or "").strip())
    if missing:
        fail(f"`{source.source_name}.{source.name}` has columns without a description: "
             f"{missing}")
