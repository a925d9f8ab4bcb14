{#-
    Incremental like fct_songplays: the days whose plays were rebuilt with newer events are
    rebuilt here too (Spark: daily partitions overwritten; Postgres/Redshift: delete+insert).
-#}
{{
    config(
        dist='start_time',
        sort=['start_time'],
    )
}}
{{ sparkify.partition_incremental('start_date', test_day_column='start_date') }}

with

songplays as (

    select * from {{ ref('fct_songplays') }}

),

{% if is_incremental() -%}
{{ sparkify.days_to_rebuild(
    changes=ref('fct_songplays'),
    target=this,
) }},
{%- endif %}

start_times as (

    select
        songplays.start_time,
        max(songplays.ingested_at) as ingested_at

    from songplays
    {%- if is_incremental() %}
        inner join days_to_rebuild
            on songplays.start_date = days_to_rebuild.start_date
    {%- endif %}
    group by songplays.start_time

),

final as (

    select
        start_time,
        cast(extract(hour from start_time) as {{ dbt.type_int() }}) as hour,
        cast(extract(day from start_time) as {{ dbt.type_int() }}) as day,
        {{ sparkify.iso_week('start_time') }} as week,
        cast(extract(month from start_time) as {{ dbt.type_int() }}) as month,
        cast(extract(year from start_time) as {{ dbt.type_int() }}) as year,
        {{ sparkify.iso_weekday('start_time') }} as weekday,
        ingested_at,
        cast(start_time as date) as start_date

    from start_times

)

select * from final
