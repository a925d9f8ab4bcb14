-- Free against paid activity per calendar month: plays, active users and plays per user,
-- by the level each play was made on (a user who upgrades counts on both sides that month).
with

songplays as (

    select * from {{ ref('fct_songplays') }}

),

times as (

    select * from {{ ref('dim_time') }}

),

final as (

    select
        times.year,
        times.month,
        songplays.level,
        count(*) as play_count,
        count(distinct songplays.user_id) as active_user_count,
        round(1.0 * count(*) / count(distinct songplays.user_id), 1) as plays_per_user

    from songplays
    inner join times
        on songplays.start_time = times.start_time
    group by times.year, times.month, songplays.level

)

select * from final
order by year, month, level
