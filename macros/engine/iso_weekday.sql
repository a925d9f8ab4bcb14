{#- ISO-8601 day of week: 1 = Monday ... 7 = Sunday. `extract(dow ...)` differs per engine. -#}
{% macro iso_weekday(timestamp_expression) -%}
    {{ return(adapter.dispatch('iso_weekday', 'sparkify')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__iso_weekday(timestamp_expression) -%}
    cast(extract(isodow from {{ timestamp_expression }}) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro spark__iso_weekday(timestamp_expression) -%}
    cast(extract(dayofweek_iso from {{ timestamp_expression }}) as int)
{%- endmacro %}

{% macro redshift__iso_weekday(timestamp_expression) -%}
    cast(to_char({{ timestamp_expression }}, 'ID') as integer)
{%- endmacro %}
