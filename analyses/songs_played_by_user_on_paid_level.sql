-- The songs a given user played while on the paid level, latest first.
-- dbt compile --select songs_played_by_user_on_paid_level --vars '{user_id: 10}'
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
        songplays.song_id,
        songs.title,
        artists.name as artist_name,
        songplays.session_id

    from songplays
    left join songs
        on songplays.song_id = songs.song_id
    left join artists
        on songplays.artist_id = artists.artist_id
    where songplays.user_id = {{ var('user_id', 10) | int }}
        and songplays.level = 'paid'

)

select * from final
order by start_time desc
