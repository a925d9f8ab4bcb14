{#- ISO-8601 week number (1..53); week 1 holds the year's first Thursday. -#}
{% macro iso_week(timestamp_expression) -%}
    {{ return(adapter.dispatch('iso_week', 'sparkify')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__iso_week(timestamp_expression) -%}
    cast(extract(week from {{ timestamp_expression }}) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro spark__iso_week(timestamp_expression) -%}
    cast(weekofyear({{ timestamp_expression }}) as int)
{%- endmacro %}

{% macro redshift__iso_week(timestamp_expression) -%}
    cast(date_part(week, {{ timestamp_expression }}) as integer)
{%- endmacro %}
