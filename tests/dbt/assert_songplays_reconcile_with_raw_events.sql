-- Reconciliation: every distinct NextSong event of a known user in the raw log is exactly
-- one row of fct_songplays (nothing lost, nothing doubled). Returns a row on mismatch.
with

raw_plays as (

    select distinct
        userid,
        sessionid,
        iteminsession

    from {{ source('sparkify', 'log_data') }}
    where page = 'NextSong'
        and userid <> ''

),

songplays as (

    select * from {{ ref('fct_songplays') }}

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
