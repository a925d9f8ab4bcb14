-- The songs a given user played while on the paid level, latest first.
-- dbt compile --select songs_played_by_user_on_paid_level --vars '{user_id: 10}'
with

{{ sparkify.named_songplays() }},

final as (

    select
        start_time,
        song_id,
        title,
        artist_name,
        session_id

    from named_songplays
    where user_id = {{ var('user_id', 10) | int }}
        and level = 'paid'

)

select * from final
order by start_time desc
