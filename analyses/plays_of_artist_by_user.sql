-- When a given user played a given artist's songs: one row per play, in time order.
-- dbt compile --select plays_of_artist_by_user --vars '{user_id: 10, artist_name: "Beyoncé"}'
-- The artist is matched on the catalogue's name, ignoring case.
with

{{ sparkify.named_songplays() }},

final as (

    select
        start_time,
        artist_name,
        title,
        level,
        session_id,
        item_in_session

    from named_songplays
    where user_id = {{ var('user_id', 10) | int }}
        and lower(artist_name)
        = lower('{{ var("artist_name", "Beyoncé") | replace("'", "''") }}')

)

select * from final
order by start_time, item_in_session
