{{
    config(
        sort=['artist_id'],
    )
}}

with

artists as (

    select * from {{ ref('int_artists__first_known_attributes') }}

),

final as (

    select
        artist_id,
        artist_name as name,
        artist_location as location,
        artist_latitude as latitude,
        artist_longitude as longitude

    from artists

)

select * from final
