{#-
    Overrides dbt's get_where_subquery: the relation a generic data test reads. dbt's own
    applies the test's `where` config; this one also narrows the relation to the days a
    scheduled cycle rebuilt (test_days, macros/testing/test_days.sql) when the tested model
    names a `test_day_column` in its meta.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set day_column = sparkify.test_day_column(relation) -%}
    {%- if day_column and sparkify.test_days() is not none -%}
        {%- do conditions.append(sparkify.in_test_days(day_column)) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
