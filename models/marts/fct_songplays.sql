{#-
    Incremental by day. A run rebuilds only the days that received newly staged events
    (macro days_to_rebuild), every day when new songs were staged (they can match old
    plays), and the days of vars backfill_from/backfill_to. Spark overwrites those daily
    partitions (insert_overwrite); Postgres and Redshift delete and insert the same days.
    `--full-refresh` rebuilds everything and gives the same table.

    Physical design per engine (each adapter reads only its own keys):
    Spark: daily partitions. Redshift: distributed on start_time like dim_time (the only
    other large table), so that join is co-located; sorted on start_time for time ranges;
    the small dimensions are copied to every node (diststyle all).
-#}
-- depends_on: {{ ref('stg_sparkify__songs') }}
{{
    config(
        materialized='incremental',
        incremental_strategy=sparkify.daily_incremental_strategy(),
        unique_key=(none if target.type == 'spark' else 'start_date'),
        on_schema_change='fail',
        partition_by=['start_date'],
        dist='start_time',
        sort=['start_time'],
    )
}}

with

matched_plays as (

    select * from {{ ref('int_songplays__matched_to_songs') }}

),

{% if is_incremental() -%}
{{ sparkify.days_to_rebuild(
    changes=ref('int_songplays__matched_to_songs'),
    target=this,
    rebuild_all_when=ref('stg_sparkify__songs'),
) }},
{%- endif %}

final as (

    select
        matched_plays.songplay_id,
        matched_plays.start_time,
        matched_plays.user_id,
        matched_plays.level,
        matched_plays.song_id,
        matched_plays.artist_id,
        matched_plays.session_id,
        matched_plays.item_in_session,
        matched_plays.location,
        matched_plays.user_agent,
        matched_plays.ingested_at,
        cast(matched_plays.start_time as date) as start_date

    from matched_plays
    {%- if is_incremental() %}
        inner join days_to_rebuild
            on cast(matched_plays.start_time as date) = days_to_rebuild.start_date
    {%- endif %}

)

select * from final
