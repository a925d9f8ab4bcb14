with

source as (

    select * from {{ source('sparkify', 'song_data') }}

),

cleaned as (

    select
        song_id,
        nullif(trim(title), '') as title,
        artist_id,
        nullif(trim(artist_name), '') as artist_name,
        nullif(trim(artist_location), '') as artist_location,
        artist_latitude,
        artist_longitude,
        duration,
        nullif(year, 0) as release_year,
        {{ sparkify.ingested_at('_ingested_at') }} as ingested_at

    from source

)

select * from cleaned
