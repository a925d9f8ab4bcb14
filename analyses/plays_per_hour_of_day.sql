-- Song plays per hour of the day (UTC), over the whole history, with each hour's share.
with

songplays as (

    select * from {{ ref('fct_songplays') }}

),

times as (

    select * from {{ ref('dim_time') }}

),

plays_per_hour as (

    select
        times.hour,
        count(*) as play_count,
        count(distinct songplays.user_id) as listener_count

    from songplays
    inner join times
        on songplays.start_time = times.start_time
    group by times.hour

),

final as (

    select
        hour,
        play_count,
        listener_count,
        round(100.0 * play_count / sum(play_count) over (), 1) as percent_of_plays

    from plays_per_hour

)

select * from final
order by hour
