-- The most played songs, with their artist; ties by title. Unmatched plays are left out.
-- dbt compile --select top_songs --vars '{top_n: 10}'
with

{{ sparkify.named_songplays() }},

final as (

    select
        song_id,
        title,
        artist_name,
        count(*) as play_count,
        count(distinct user_id) as listener_count

    from named_songplays
    where song_id is not null
    group by song_id, title, artist_name

)

select * from final
order by play_count desc, title asc, song_id asc
limit {{ var('top_n', 10) | int }}
