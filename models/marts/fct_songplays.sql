{{
    config(
        partition_by=['start_date'],
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
