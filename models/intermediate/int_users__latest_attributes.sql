-- One row per user: name, gender, level and location from the user's latest event
-- (greatest start time, then greatest position in the session).
with

events as (

    select * from {{ ref('int_events__deduplicated') }}

),

ranked as (

    select
        user_id,
        first_name,
        last_name,
        gender,
        level,
        location,
        row_number() over (
            partition by user_id
            order by start_time_epoch_ms desc, item_in_session desc, session_id desc
        ) as recency_rank

    from events
    where user_id is not null

),

final as (

    select
        user_id,
        first_name,
        last_name,
        gender,
        level,
        location,
        {{ sparkify.state_code_from_location('location') }} as state_code

    from ranked
    where recency_rank = 1

)

select * from final
