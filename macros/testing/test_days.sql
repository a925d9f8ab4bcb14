{#-
    Data tests scoped to the days a scheduled cycle rebuilt.

    A cycle of `python -m ingest run` passes var `test_days` (a list of ISO dates: the days
    of the log objects its stage changed) when only those days can have changed since the
    last successful build; by hand, SPARKIFY_TEST_DAYS (ISO dates joined by commas) does the
    same. A generic data test on a model whose meta names a
    `test_day_column` then reads only the rows of those days: dbt wraps the tested relation
    with get_where_subquery, overridden in macros/overrides/get_where_subquery.sql (a
    test's own `where` config is kept and combined). Models without a day column, and every
    test when neither is set (`dbt build` by hand, CI, `make test`), read everything.
    A new --vars value makes dbt parse the project again (its partial parsing keys on the
    command line's vars): a stream and `run --every` keep their parse between builds instead
    (ingest/run/dbt.py, ParsedProject), which holds because the days are read only while a
    build executes, never while dbt parses.
-#}
{% macro test_days() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set days = var('test_days', env_var('SPARKIFY_TEST_DAYS', '')) -%}
    {%- if days is string -%}
        {%- set days = days | trim -%}
        {%- set days = days.split(',') if days else [] -%}
    {%- endif -%}
    {%- if not days -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set checked = [] -%}
    {%- for day in days -%}
        {#- dates only: a var never reaches the SQL unchecked -#}
        {%- do checked.append(modules.datetime.date.fromisoformat(day | string | trim)) -%}
    {%- endfor -%}
    {{ return(checked) }}
{%- endmacro %}


{#- `<column> in (<the test days>)`, or `true` when tests read every day. -#}
{% macro in_test_days(column) -%}
    {%- set days = sparkify.test_days() -%}
    {%- if days is none -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set dates = [] -%}
    {%- for day in days -%}
        {%- do dates.append("cast('" ~ day.isoformat() ~ "' as date)") -%}
    {%- endfor -%}
    {{ return(column ~ " in (" ~ dates | join(", ") ~ ")") }}
{%- endmacro %}


{#- The meta `test_day_column` of the model stored as `relation`, if any. -#}
{% macro test_day_column(relation) -%}
    {%- if not execute or relation is string or relation.identifier is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model'
            and (node.alias or node.name) | lower == relation.identifier | lower
            and node.schema | lower == (relation.schema or '') | lower -%}
            {{ return(node.config.meta.get('test_day_column')) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}
