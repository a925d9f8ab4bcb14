{#- a scheduled cycle's data tests read only the days it rebuilt (macros/testing/test_days.sql) -#}
{{ config(meta={'test_day_column': 'event_date'}) }}
{#- rendered once: on Spark it describes the source table (one statement, not one per use) -#}
{%- set event_date = sparkify.utc_event_date(source('sparkify', 'log_data'), 'ts') %}

with

source as (

    select * from {{ source('sparkify', 'log_data') }}

),

cleaned as (

    select
        -- an event is its key on its UTC day: the same key on another day is another
        -- event (a redelivery keeps its ts, so its day, and is removed downstream)
        {{ sparkify.surrogate_key([
            "nullif(userid, '')",
            'sessionid',
            'iteminsession',
            event_date,
        ]) }} as event_id,
        cast(nullif(userid, '') as {{ dbt.type_int() }}) as user_id,
        sessionid as session_id,
        iteminsession as item_in_session,
        {{ sparkify.epoch_ms_to_timestamp('ts') }} as start_time,
        ts as start_time_epoch_ms,
        page,
        auth = 'Logged In' as is_logged_in,
        level,
        firstname as first_name,
        lastname as last_name,
        gender,
        nullif(trim(location), '') as location,
        {{ sparkify.strip_wrapping_quotes('useragent') }} as user_agent,
        song as song_title,
        artist as artist_name,
        length as song_length,
        {{ sparkify.epoch_ms_to_timestamp('registration') }} as registered_at,
        method as http_method,
        status as http_status,
        {{ sparkify.ingested_at('_ingested_at') }} as ingested_at,
        {{ event_date }} as event_date

    from source

)

select * from cleaned
