{#-
    CTEs for the example analyses, ending in `named_songplays`: every play of fct_songplays
    with the title of its song and the name of its artist (null for a play that matched no
    song). Use it inside an analysis's `with` list.
-#}
{% macro named_songplays() %}
songplays as (

    select * from {{ ref('fct_songplays') }}

),

songs as (

    select * from {{ ref('dim_songs') }}

),

artists as (

    select * from {{ ref('dim_artists') }}

),

named_songplays as (

    select
        songplays.start_time,
        songplays.user_id,
        songplays.level,
        songplays.song_id,
        songplays.artist_id,
        songplays.session_id,
        songplays.item_in_session,
        songs.title,
        artists.name as artist_name

    from songplays
    left join songs
        on songplays.song_id = songs.song_id
    left join artists
        on songplays.artist_id = artists.artist_id

)
{%- endmacro %}
