-- The most played artists; ties by name. Unmatched plays are left out.
-- dbt compile --select top_artists --vars '{top_n: 10}'
with

songplays as (

    select * from {{ ref('fct_songplays') }}

),

artists as (

    select * from {{ ref('dim_artists') }}

),

plays_per_artist as (

    select
        artist_id,
        count(*) as play_count,
        count(distinct song_id) as song_count,
        count(distinct user_id) as listener_count

    from songplays
    where artist_id is not null
    group by artist_id

),

final as (

    select
        plays_per_artist.artist_id,
        artists.name as artist_name,
        plays_per_artist.play_count,
        plays_per_artist.song_count,
        plays_per_artist.listener_count

    from plays_per_artist
    inner join artists
        on plays_per_artist.artist_id = artists.artist_id

)

select * from final
order by play_count desc, artist_name asc, artist_id asc
limit {{ var('top_n', 10) | int }}
