-- One row per event (`event_id`: user, session and position in the session on a UTC day):
-- the app sometimes delivers an event twice, with the same ts, so on the same day; the
-- first delivery is kept. The same key on another day is another event.
-- Incremental by day (partitions of event_date): a run rebuilds only the days that received
-- newly staged events, and the days of vars backfill_from/backfill_to. Spark overwrites
-- those partitions; Postgres and Redshift delete and insert the same days.
{{ sparkify.partition_incremental('event_date', test_day_column='event_date') }}
{#- the days this run rebuilds: every day (true) on a first or full build -#}
{%- set rebuilt_days = sparkify.in_days_to_rebuild(
    'events.event_date',
    changes=ref('stg_sparkify__events'),
    target=this,
    day_column='event_date',
) %}

with

events as (

    select * from {{ ref('stg_sparkify__events') }}

),

ranked as (

    select
        events.event_id,
        events.user_id,
        events.session_id,
        events.item_in_session,
        events.start_time,
        events.start_time_epoch_ms,
        events.page,
        events.is_logged_in,
        events.level,
        events.first_name,
        events.last_name,
        events.gender,
        events.location,
        events.user_agent,
        events.song_title,
        events.artist_name,
        events.song_length,
        events.registered_at,
        events.http_method,
        events.http_status,
        events.ingested_at,
        events.event_date,
        row_number() over (
            partition by events.event_date, events.event_id
            order by
                events.start_time_epoch_ms,
                events.page,
                events.level,
                events.ingested_at
        ) as delivery_number

    from events
    where {{ rebuilt_days }}

),

final as (

    select
        event_id,
        user_id,
        session_id,
        item_in_session,
        start_time,
        start_time_epoch_ms,
        page,
        is_logged_in,
        level,
        first_name,
        last_name,
        gender,
        location,
        user_agent,
        song_title,
        artist_name,
        song_length,
        registered_at,
        http_method,
        http_status,
        ingested_at,
        event_date

    from ranked
    where delivery_number = 1

)

select * from final
