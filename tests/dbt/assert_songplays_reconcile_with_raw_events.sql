-- Reconciliation: every distinct NextSong event of a known user in the raw log (its key,
-- user, session and item, on its UTC day) is exactly one row of fct_songplays (nothing
-- lost, nothing doubled). Returns a row on mismatch.
-- A scheduled cycle (var test_days) reconciles the days it rebuilt; else every day.
with

raw_plays as (

    select distinct
        user_id,
        session_id,
        item_in_session,
        event_date

    from {{ ref('stg_sparkify__events') }}
    where page = 'NextSong'
        and user_id is not null
        and {{ sparkify.in_test_days('event_date') }}

),

songplays as (

    select * from {{ ref('fct_songplays') }}
    where {{ sparkify.in_test_days('start_date') }}

),

counts as (

    select
        (select count(*) from raw_plays) as raw_play_count,
        (select count(*) from songplays) as songplay_count,
        (select count(distinct songplay_id) from songplays) as distinct_songplay_count

),

final as (

    select * from counts
    where raw_play_count <> songplay_count
        or songplay_count <> distinct_songplay_count

)

select * from final
