{{
    config(
        dist='start_time',
        sort=['start_time'],
    )
}}

with

songplays as (

    select * from {{ ref('fct_songplays') }}

),

start_times as (

    select distinct start_time
    from songplays

),

final as (

    select
        start_time,
        cast(extract(hour from start_time) as {{ dbt.type_int() }}) as hour,
        cast(extract(day from start_time) as {{ dbt.type_int() }}) as day,
        {{ sparkify.iso_week('start_time') }} as week,
        cast(extract(month from start_time) as {{ dbt.type_int() }}) as month,
        cast(extract(year from start_time) as {{ dbt.type_int() }}) as year,
        {{ sparkify.iso_weekday('start_time') }} as weekday

    from start_times

)

select * from final
