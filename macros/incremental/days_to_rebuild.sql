{#-
    CTEs for a model that is incremental by day, ending in `days_to_rebuild (<day_column>)`:

    - the days of rows in `changes` staged after the newest row already in `target` (its
      watermark: max of column ingested_at). `changes` has the day in `changes_day_column`
      (default: the same name as the target's `day_column`);
    - with `songs` and `keyed_plays`: the days of the plays that new or changed songs may
      now match or no longer match (macro rematched_song_days), unless no song changed
      since the last successful build (raw_table_changed): that build matched them;
    - the days between vars `backfill_from` and `backfill_to` (inclusive).

    Plain joins and unions, no subqueries in OR, so the same SQL runs on Spark, Postgres and
    Redshift. Use it inside a model's `with` list.
-#}
{% macro days_to_rebuild(
    changes,
    target,
    day_column='start_date',
    changes_day_column=none,
    songs=none,
    keyed_plays=none,
    keyed_plays_day_column=none
) %}
    {%- set changes_day = changes_day_column or day_column -%}
    {%- set rematch = songs is not none and sparkify.raw_table_changed('song_data') -%}
    {%- set backfill_from = var('backfill_from', none) -%}
    {%- set backfill_to = var('backfill_to', backfill_from) -%}
    {%- if backfill_from is not none -%}
        {#- dates only: a var never reaches the SQL unchecked -#}
        {%- do modules.datetime.date.fromisoformat(backfill_from | string) -%}
        {%- do modules.datetime.date.fromisoformat(backfill_to | string) -%}
    {%- endif -%}
incremental_watermark as (

    select max(ingested_at) as ingested_at
    from {{ target }}

),

{% if rematch -%}
{{ sparkify.rematched_song_days(
    songs=songs,
    keyed_plays=keyed_plays,
    keyed_plays_day_column=(keyed_plays_day_column or day_column),
    matched=target,
    day_column=day_column,
) }},
    {%- endif %}

days_to_rebuild as (

    select distinct changes.{{ changes_day }} as {{ day_column }}
    from {{ changes }} as changes
    cross join incremental_watermark
    where incremental_watermark.ingested_at is null
        or changes.ingested_at > incremental_watermark.ingested_at
        {% if backfill_from is not none -%}
    or changes.{{ changes_day }}
        between cast('{{ backfill_from }}' as date) and cast('{{ backfill_to }}' as date)
        {% endif %}
    {%- if rematch %}

    union

    select {{ day_column }}
    from rematched_song_days
    {%- endif %}

)
{%- endmacro %}


{#-
    CTEs ending in `rematched_song_days (<day_column>)`: the days of plays whose match can
    change because songs were staged after the watermark (CTE incremental_watermark): plays
    in `keyed_plays` (columns title_key, artist_key) with the trimmed, lower-cased title and
    artist of a new song; plays in `matched` (column song_id) matched to a song that was
    restaged (it may have changed) or is gone (pruned). Only those days are rebuilt, never
    all of history.
-#}
{% macro rematched_song_days(songs, keyed_plays, keyed_plays_day_column, matched, day_column) %}
new_songs as (

    select
        songs.song_id,
        lower(trim(songs.title)) as title_key,
        lower(trim(songs.artist_name)) as artist_key

    from {{ songs }} as songs
    cross join incremental_watermark
    where songs.ingested_at > incremental_watermark.ingested_at

),

rematched_song_days as (

    select keyed_plays.{{ keyed_plays_day_column }} as {{ day_column }}
    from {{ keyed_plays }} as keyed_plays
    inner join new_songs
        on keyed_plays.title_key = new_songs.title_key
        and keyed_plays.artist_key = new_songs.artist_key

    union

    select matched.{{ day_column }}
    from {{ matched }} as matched
    inner join new_songs
        on matched.song_id = new_songs.song_id

    union

    select matched.{{ day_column }}
    from {{ matched }} as matched
    left join {{ songs }} as songs
        on matched.song_id = songs.song_id
    where matched.song_id is not null
        and songs.song_id is null

)
{%- endmacro %}


{#-
    `<column> in (<the days to rebuild>)`: the days of days_to_rebuild (its keyword
    arguments, passed on as they are),
    asked of the warehouse once while the model compiles and written into its SQL as
    literal dates, so that Spark reads only those days' partitions of the tables it scans
    (a join with a CTE of days reads them all), with the days stage --prune emptied (var
    pruned_days, macros/pruned_days.sql). `false` when there is nothing to rebuild;
    `true` (every day) on a first or full build, and when not executing (parsing; sqlfluff).
-#}
{% macro in_days_to_rebuild(column) %}
    {%- if not execute or not is_incremental() -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set query -%}
        with
        {{ sparkify.days_to_rebuild(**kwargs) }}
        {#- days_to_rebuild has one column: the day, whatever its name -#}
        select distinct * from days_to_rebuild
    {%- endset -%}
    {#- the days stage --prune emptied: their rows are removed first (remove_pruned_days) -#}
    {%- set days = [] -%}
    {%- for day in sparkify.pruned_days() -%}
        {%- do days.append("cast('" ~ day ~ "' as date)") -%}
    {%- endfor -%}
    {%- for row in run_query(query).rows -%}
        {%- if row[0] is not none -%}
            {#- dates only: a value never reaches the SQL unchecked -#}
            {%- set day = modules.datetime.date.fromisoformat((row[0] | string)[:10]) -%}
            {%- do days.append("cast('" ~ day.isoformat() ~ "' as date)") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do log(this.identifier ~ ": rebuilding " ~ days | length ~ " day(s)", info=false) -%}
    {%- if not days -%}
        {{ return('false') }}
    {%- endif -%}
    {{ return(column ~ ' in (' ~ days | unique | sort | join(', ') ~ ')') }}
{% endmacro %}
