{#-
    The UTC date of an event (`event_date`), for the staging model of the logs. The Spark
    parquet landing has it as the log table's partition column: passed through as it is,
    a filter on event_date downstream reads only the days it names. Sources without it
    (Spark reading the raw JSON on S3 directly, the Postgres and Redshift staging tables)
    get it computed from the epoch milliseconds, the same date. Which one is decided at
    execute time from the source relation's columns, so one model serves every engine; at
    parse time, and when compiling without introspection, the computed form is rendered.
-#}
{% macro utc_event_date(source_relation, epoch_ms) -%}
    {%- if execute and flags.INTROSPECT
        and 'event_date' in sparkify.column_names(source_relation) -%}
        event_date
    {%- else -%}
        cast({{ sparkify.epoch_ms_to_timestamp(epoch_ms) }} as date)
    {%- endif -%}
{%- endmacro %}

{#- The lower-case column names of a relation, as the warehouse describes it. -#}
{% macro column_names(relation) -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do names.append(column.name | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}
