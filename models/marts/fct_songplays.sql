{#-
    Physical design per engine (each adapter reads only its own keys):
    Spark: daily partitions. Redshift: distributed on start_time like dim_time (the only
    other large table), so that join is co-located; sorted on start_time for time ranges;
    the small dimensions are copied to every node (diststyle all).
-#}
{{
    config(
        partition_by=['start_date'],
        dist='start_time',
        sort=['start_time'],
    )
}}

with

matched_plays as (

    select * from {{ ref('int_songplays__matched_to_songs') }}

),

final as (

    select
        songplay_id,
        start_time,
        user_id,
        level,
        song_id,
        artist_id,
        session_id,
        item_in_session,
        location,
        user_agent,
        cast(start_time as date) as start_date

    from matched_plays

)

select * from final
