-- One row per song play (a NextSong event of a known user), with the song it matches.
-- Matching rule: the song's trimmed, lower-cased title and artist name equal the play's,
-- and |duration - played length| <= var('song_match_window_seconds'). Among several
-- candidates the smallest difference wins, then the smallest song_id. Unmatched plays are
-- kept with a null song_id and artist_id.
-- A table, not a view: the match join is computed once, not again for each test and for
-- the incremental fact's search for changed days.
{{ config(materialized='table') }}

with

events as (

    select * from {{ ref('int_events__deduplicated') }}

),

songs as (

    select * from {{ ref('stg_sparkify__songs') }}

),

plays as (

    select
        event_id as songplay_id,
        start_time,
        user_id,
        level,
        session_id,
        item_in_session,
        location,
        user_agent,
        ingested_at,
        song_length,
        lower(trim(song_title)) as title_key,
        lower(trim(artist_name)) as artist_key

    from events
    where page = 'NextSong'
        and user_id is not null

),

song_keys as (

    select
        song_id,
        artist_id,
        duration,
        lower(trim(title)) as title_key,
        lower(trim(artist_name)) as artist_key

    from songs

),

candidates as (

    select
        plays.songplay_id,
        song_keys.song_id,
        song_keys.artist_id,
        row_number() over (
            partition by plays.songplay_id
            order by abs(song_keys.duration - plays.song_length), song_keys.song_id
        ) as candidate_rank

    from plays
    inner join song_keys
        on plays.title_key = song_keys.title_key
        and plays.artist_key = song_keys.artist_key
        and abs(song_keys.duration - plays.song_length)
        <= {{ var('song_match_window_seconds') }}

),

best_matches as (

    select
        songplay_id,
        song_id,
        artist_id

    from candidates
    where candidate_rank = 1

),

final as (

    select
        plays.songplay_id,
        plays.start_time,
        plays.user_id,
        plays.level,
        best_matches.song_id,
        best_matches.artist_id,
        plays.session_id,
        plays.item_in_session,
        plays.location,
        plays.user_agent,
        plays.ingested_at

    from plays
    left join best_matches
        on plays.songplay_id = best_matches.songplay_id

)

select * from final
