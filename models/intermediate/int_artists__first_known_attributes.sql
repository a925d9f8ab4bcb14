-- One row per artist. Song files disagree about their artist, so each attribute is the
-- first known (non-null, non-empty) value in song_id order among the artist's songs.
{%- set attributes = ['artist_name', 'artist_location', 'artist_latitude', 'artist_longitude'] %}
with

songs as (

    select * from {{ ref('stg_sparkify__songs') }}

),

ranked as (

    select
        artist_id,
        {% for attribute in attributes -%}
            {{ attribute }},
            row_number() over (
                partition by artist_id
                order by case when {{ attribute }} is null then 1 else 0 end, song_id
            ) as {{ attribute }}_rank{% if not loop.last %},{% endif %}
        {% endfor %}

    from songs

),

final as (

    select
        artist_id,
        {% for attribute in attributes -%}
            max(case when {{ attribute }}_rank = 1 then {{ attribute }} end) as {{ attribute }}
            {%- if not loop.last %},{% endif %}
        {% endfor %}

    from ranked
    group by artist_id

)

select * from final
