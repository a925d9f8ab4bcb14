-- One row per event: the app sometimes delivers an event twice (same user, session and
-- position in the session); the first delivery is kept.
-- A table, not a view: everything downstream (three models and their tests) reads it, and
-- as a view each of those reads would parse the raw JSON and redo the dedup again.
{{ config(materialized='table') }}

with

events as (

    select * from {{ ref('stg_sparkify__events') }}

),

ranked as (

    select
        events.*,
        row_number() over (
            partition by events.event_id
            order by events.start_time_epoch_ms, events.page, events.level
        ) as delivery_number

    from events

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
        ingested_at

    from ranked
    where delivery_number = 1

)

select * from final
