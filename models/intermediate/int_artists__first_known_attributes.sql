-- One row per artist. Song files disagree about their artist, so each attribute is the
-- first known (non-null, non-empty) value in song_id order among the artist's songs.
with

songs as (

    select * from {{ ref('stg_sparkify__songs') }}

),

ranked as (

    select
        artist_id,
        artist_name,
        artist_location,
        artist_latitude,
        artist_longitude,
        row_number() over (
            partition by artist_id
            order by case when artist_name is null then 1 else 0 end, song_id
        ) as artist_name_rank,
        row_number() over (
            partition by artist_id
            order by case when artist_location is null then 1 else 0 end, song_id
        ) as artist_location_rank,
        row_number() over (
            partition by artist_id
            order by case when artist_latitude is null then 1 else 0 end, song_id
        ) as artist_latitude_rank,
        row_number() over (
            partition by artist_id
            order by case when artist_longitude is null then 1 else 0 end, song_id
        ) as artist_longitude_rank

    from songs

),

final as (

    select
        artist_id,
        max(case when artist_name_rank = 1 then artist_name end) as artist_name,
        max(case when artist_location_rank = 1 then artist_location end) as artist_location,
        max(case when artist_latitude_rank = 1 then artist_latitude end) as artist_latitude,
        max(case when artist_longitude_rank = 1 then artist_longitude end) as artist_longitude

    from ranked
    group by artist_id

)

select * from final
