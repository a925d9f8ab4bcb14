{{
    config(
        sort=['song_id'],
    )
}}

with

songs as (

    select * from {{ ref('stg_sparkify__songs') }}

),

ranked as (

    select
        song_id,
        title,
        artist_id,
        release_year,
        duration,
        row_number() over (
            partition by song_id
            order by artist_id, title, duration
        ) as record_rank

    from songs

),

final as (

    select
        song_id,
        title,
        artist_id,
        release_year as year,
        duration

    from ranked
    where record_rank = 1

)

select * from final
