{#-
    Incremental by day. A run rebuilds only the days that received newly staged events
    (macro days_to_rebuild), the days of the plays that new or changed songs can now match
    or no longer match (macro rematched_song_days), and the days of vars
    backfill_from/backfill_to. Spark overwrites those daily partitions (insert_overwrite);
    Postgres and Redshift delete and insert the same days. `--full-refresh` rebuilds
    everything and gives the same table.

    Physical design per engine (each adapter reads only its own keys):
    Spark: daily partitions. Redshift: distributed on start_time like dim_time (the only
    other large table), so that join is co-located; sorted on start_time for time ranges;
    the small dimensions are copied to every node (diststyle all).
-#}
-- depends_on: {{ ref('stg_sparkify__songs') }}
{{
    config(
        dist='start_time',
        sort=['start_time'],
    )
}}
{{ sparkify.partition_incremental('start_date', test_day_column='start_date') }}
{#- the days this run rebuilds: every day (true) on a first or full build -#}
{%- set rebuilt_days = sparkify.in_days_to_rebuild(
    'matched_plays.event_date',
    changes=ref('int_songplays__matched_to_songs'),
    target=this,
    changes_day_column='event_date',
    songs=ref('stg_sparkify__songs'),
    keyed_plays=ref('int_songplays__matched_to_songs'),
    keyed_plays_day_column='event_date',
) %}

with

matched_plays as (

    select * from {{ ref('int_songplays__matched_to_songs') }}

),

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
        matched_plays.event_date as start_date

    from matched_plays
    where {{ rebuilt_days }}

)

select * from final
