{#-
    CTEs for an incremental model, ending in `days_to_rebuild (start_date)`: the days with
    rows in `changes` staged after the newest row already in `target` (its watermark,
    column ingested_at); every day when a row of `rebuild_all_when` is newer than the
    watermark (new songs can change the matches of old plays); and the days between vars
    `backfill_from` and `backfill_to` (inclusive). Plain joins, no subqueries in OR, so the
    same SQL runs on Spark, Postgres and Redshift. Use it inside a model's `with` list.
-#}
{% macro days_to_rebuild(changes, target, rebuild_all_when=none) %}
    {%- set backfill_from = var('backfill_from', none) -%}
    {%- set backfill_to = var('backfill_to', backfill_from) -%}
    {%- if backfill_from is not none -%}
        {#- dates only: a var never reaches the SQL unchecked -#}
        {%- do modules.datetime.date.fromisoformat(backfill_from | string) -%}
        {%- do modules.datetime.date.fromisoformat(backfill_to | string) -%}
    {%- endif -%}
incremental_watermark as (

    select max(ingested_at) as ingested_at
    from {{ target }}

),

newer_upstream_rows as (

    {%- if rebuild_all_when is not none %}

    select count(*) as row_count
    from {{ rebuild_all_when }} as upstream
    cross join incremental_watermark
    where upstream.ingested_at > incremental_watermark.ingested_at
    {%- else %}

    select 0 as row_count
    {%- endif %}

),

days_to_rebuild as (

    select distinct cast(changes.start_time as date) as start_date
    from {{ changes }} as changes
    cross join incremental_watermark
    cross join newer_upstream_rows
    where incremental_watermark.ingested_at is null
        or changes.ingested_at > incremental_watermark.ingested_at
        or newer_upstream_rows.row_count > 0
        {% if backfill_from is not none -%}
        or cast(changes.start_time as date)
        between cast('{{ backfill_from }}' as date) and cast('{{ backfill_to }}' as date)
        {% endif %}

)
{%- endmacro %}
