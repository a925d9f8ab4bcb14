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
{#- the days this run rebuilds: every day (true) on a first or full build -#}
{%- set rebuilt_days = sparkify.in_days_to_rebuild(
    'songplays.start_date',
    changes=ref('fct_songplays'),
    target=this,
) %}

with

songplays as (

    select * from {{ ref('fct_songplays') }}

),

start_times as (

    select
        songplays.start_time,
        max(songplays.ingested_at) as ingested_at

    from songplays
    where {{ rebuilt_days }}
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
