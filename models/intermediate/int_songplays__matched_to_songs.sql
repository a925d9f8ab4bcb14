-- One row per song play (a NextSong event of a known user), with the song it matches.
-- Matching rule: the song's trimmed, lower-cased title and artist name equal the play's,
-- and |duration - played length| <= var('song_match_window_seconds'). Among several
-- candidates the smallest difference wins, then the smallest song_id. Unmatched plays are
-- kept with a null song_id and artist_id. ingested_at is the later of the play's and its
-- matched song's: a song staged later changes the row, and the row says so.
-- Incremental by day (partitions of event_date): a run rebuilds the days that received
-- newly staged events, and the days of the plays that new or changed songs can now match
-- or no longer match (by title_key and artist_key, kept here for that); never all days.
{{ sparkify.partition_incremental('event_date', test_day_column='event_date') }}
{#- the days this run rebuilds: every day (true) on a first or full build -#}
{%- set rebuilt_days = sparkify.in_days_to_rebuild(
    'events.event_date',
    changes=ref('int_events__deduplicated'),
    target=this,
    day_column='event_date',
    songs=ref('stg_sparkify__songs'),
    keyed_plays=this,
) %}

with

events as (

    select * from {{ ref('int_events__deduplicated') }}

),

songs as (

    select * from {{ ref('stg_sparkify__songs') }}

),

plays as (

    select
        events.event_id as songplay_id,
        events.start_time,
        events.user_id,
        events.level,
        events.session_id,
        events.item_in_session,
        events.location,
        events.user_agent,
        events.ingested_at,
        events.song_length,
        events.event_date,
        lower(trim(events.song_title)) as title_key,
        lower(trim(events.artist_name)) as artist_key

    from events
    where events.page = 'NextSong'
        and events.user_id is not null
        and {{ rebuilt_days }}

),

song_keys as (

    select
        song_id,
        artist_id,
        duration,
        ingested_at,
        lower(trim(title)) as title_key,
        lower(trim(artist_name)) as artist_key

    from songs

),

candidates as (

    select
        plays.songplay_id,
        song_keys.song_id,
        song_keys.artist_id,
        song_keys.ingested_at,
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
        artist_id,
        ingested_at

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
        plays.title_key,
        plays.artist_key,
        plays.event_date,
        greatest(
            plays.ingested_at,
            coalesce(best_matches.ingested_at, plays.ingested_at)
        ) as ingested_at

    from plays
    left join best_matches
        on plays.songplay_id = best_matches.songplay_id

)

select * from final
