{#-
    The days of log objects that `stage --prune` removed since the last successful build
    (var `pruned_days`, a list of ISO dates the scheduler passes): an incremental model by
    day replaces only the days its new rows cover, so a day whose rows are gone from the
    raw table would keep them. Dates only: a var never reaches the SQL unchecked.
-#}
{% macro pruned_days() %}
    {%- set days = [] -%}
    {%- for day in var('pruned_days', []) -%}
        {%- do days.append(modules.datetime.date.fromisoformat(day | string).isoformat()) -%}
    {%- endfor -%}
    {{ return(days | unique | sort) }}
{% endmacro %}


{#-
    A pre-hook of the models incremental by day: remove the pruned days from the model's
    table before it writes the days it rebuilds (in_days_to_rebuild adds the pruned days to
    those, so what is left of a day is written again). Nothing on a first or full build.
-#}
{% macro remove_pruned_days(day_column) %}
    {%- set days = sparkify.pruned_days() -%}
    {%- if not days or not is_incremental() -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(adapter.dispatch('remove_pruned_days', 'sparkify')(day_column, days)) }}
{% endmacro %}

{% macro default__remove_pruned_days(day_column, days) %}
    {%- set listed = [] -%}
    {%- for day in days -%}
        {%- do listed.append("cast('" ~ day ~ "' as date)") -%}
    {%- endfor -%}
    {{ return('delete from ' ~ this ~ ' where ' ~ day_column ~ ' in ('
              ~ listed | join(', ') ~ ')') }}
{% endmacro %}

{% macro spark__remove_pruned_days(day_column, days) %}
    {%- set listed = [] -%}
    {%- for day in days -%}
        {%- do listed.append('partition (' ~ day_column ~ " = '" ~ day ~ "')") -%}
    {%- endfor -%}
    {{ return('alter table ' ~ this ~ ' drop if exists ' ~ listed | join(', ')) }}
{% endmacro %}
