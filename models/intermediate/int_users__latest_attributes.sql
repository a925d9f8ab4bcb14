-- One row per user: name, gender, level and location from the user's latest event
-- (greatest start time, then greatest position in the session, then greatest session).
-- Incremental without reading all history: a run takes the events staged since the newest
-- ingested_at here, and recomputes only the users of those events' buckets (user_id modulo
-- 8) from those events and the users' current rows, which keep their latest event's order
-- columns. A late event changes a user only when it is the user's latest. Spark overwrites
-- the touched bucket partitions; Postgres and Redshift delete and insert the same buckets.
{{ sparkify.partition_incremental('user_bucket') }}

{#- what decides a user's row: their attributes and the order of the event they come from -#}
{%- set candidate_columns = [
    'user_id', 'first_name', 'last_name', 'gender', 'level', 'location',
    'start_time_epoch_ms', 'item_in_session', 'session_id', 'ingested_at',
] %}

with

events as (

    select * from {{ ref('int_events__deduplicated') }}

),

incremental_watermark as (

    select max(ingested_at) as ingested_at
    {%- if is_incremental() %}
        from {{ this }}
    {%- else %}
        from events
        where 1 = 0
    {%- endif %}

),

new_events as (

    select events.*
    from events
    cross join incremental_watermark
    where events.user_id is not null
        and (
            incremental_watermark.ingested_at is null
            or events.ingested_at > incremental_watermark.ingested_at
        )

),

candidates as (

    select {{ candidate_columns | join(', ') }}
    from new_events
    {%- if is_incremental() %}

        union all

        select {{ candidate_columns | join(', ') }}
        from {{ this }}
        where user_bucket in (select new_events.user_id % 8 from new_events)
    {%- endif %}

),

ranked as (

    select
        candidates.*,
        row_number() over (
            partition by candidates.user_id
            order by
                candidates.start_time_epoch_ms desc,
                candidates.item_in_session desc,
                candidates.session_id desc
        ) as recency_rank

    from candidates

),

computed as (

    select max(ingested_at) as ingested_at
    from candidates

),

final as (

    select
        ranked.user_id,
        ranked.first_name,
        ranked.last_name,
        ranked.gender,
        ranked.level,
        ranked.location,
        {{ sparkify.state_code_from_location('ranked.location') }} as state_code,
        ranked.start_time_epoch_ms,
        ranked.item_in_session,
        ranked.session_id,
        computed.ingested_at,
        ranked.user_id % 8 as user_bucket

    from ranked
    cross join computed
    where ranked.recency_rank = 1

)

select * from final
