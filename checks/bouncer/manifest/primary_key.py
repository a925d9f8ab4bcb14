"""A model's primary-key test: `unique` and `not_null` on the same column, or the project's
`unique_combination_of_columns`. dbt-bouncer's check_model_has_unique_test accepts a
`unique` test alone, which lets a key with nulls through."""


from typing import Any

from dbt_bouncer.check_framework.decorator import check, fail

COMBINATION_TEST = "unique_combination_of_columns"


@check
def check_model_has_primary_key_test(model: Any, ctx: Any) -> None:
    """Models must have a primary-key test: `unique` and `not_null` on one column, or
    `unique_combination_of_columns`."""
    unique: set[str] = set()
    not_null: set[str] = set()
    for test in ctx.tests_by_attached_node.get(model.unique_id, []):
        metadata = getattr(test, "test_metadata", None)
        name = str(getattr(metadata, "name", "") or "")
        column = str(getattr(test, "column_name", "") or "")
        if name == COMBINATION_TEST:
            return
        if name == "unique" and column:
            unique.add(column)
        elif name == "not_null" and column:
            not_null.add(column)
    if not unique & not_null:
        fail(f"`{model.name}` has no primary-key test: give one column both `unique` and "
             f"`not_null` (or use `{COMBINATION_TEST}`)")
