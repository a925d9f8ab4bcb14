-- When a given user played a given artist's songs: one row per play, in time order.
-- dbt compile --select plays_of_artist_by_user --vars '{user_id: 10, artist_name: "Beyoncé"}'
-- The artist is matched on the catalogue's name, ignoring case.
with

songplays as (

    select * from {{ ref('fct_songplays') }}

),

songs as (

    select * from {{ ref('dim_songs') }}

),

artists as (

    select * from {{ ref('dim_artists') }}

),

final as (

    select
        songplays.start_time,
        artists.name as artist_name,
        songs.title,
        songplays.level,
        songplays.session_id,
        songplays.item_in_session

    from songplays
    inner join artists
        on songplays.artist_id = artists.artist_id
    left join songs
        on songplays.song_id = songs.song_id
    where songplays.user_id = {{ var('user_id', 10) | int }}
        and lower(artists.name)
        = lower('{{ var("artist_name", "Beyoncé") | replace("'", "''") }}')

)

select * from final
order by start_time, item_in_session
