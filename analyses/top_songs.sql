-- The most played songs, with their artist; ties by title. Unmatched plays are left out.
-- dbt compile --select top_songs --vars '{top_n: 10}'
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

plays_per_song as (

    select
        song_id,
        count(*) as play_count,
        count(distinct user_id) as listener_count

    from songplays
    where song_id is not null
    group by song_id

),

final as (

    select
        plays_per_song.song_id,
        songs.title,
        artists.name as artist_name,
        plays_per_song.play_count,
        plays_per_song.listener_count

    from plays_per_song
    inner join songs
        on plays_per_song.song_id = songs.song_id
    left join artists
        on songs.artist_id = artists.artist_id

)

select * from final
order by play_count desc, title asc, song_id asc
limit {{ var('top_n', 10) | int }}
