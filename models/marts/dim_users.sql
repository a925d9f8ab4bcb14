{{
    config(
        sort=['user_id'],
    )
}}

with

users as (

    select * from {{ ref('int_users__latest_attributes') }}

),

us_states as (

    select * from {{ ref('us_states') }}

),

final as (

    select
        users.user_id,
        users.first_name,
        users.last_name,
        users.gender,
        users.level,
        users.location,
        users.state_code,
        us_states.state_name,
        us_states.census_region

    from users
    left join us_states
        on users.state_code = us_states.state_code

)

select * from final
