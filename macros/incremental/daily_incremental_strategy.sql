{#-
    How an incremental model replaces whole days: Spark overwrites the day partitions it
    writes (insert_overwrite, dynamic partitions); the warehouses delete the days the new
    rows cover, then insert them (delete+insert on unique_key start_date).
-#}
{% macro daily_incremental_strategy() %}
    {{ return(adapter.dispatch('daily_incremental_strategy', 'sparkify')()) }}
{% endmacro %}

{% macro default__daily_incremental_strategy() %}
    {{ return('delete+insert') }}
{% endmacro %}

{% macro spark__daily_incremental_strategy() %}
    {{ return('insert_overwrite') }}
{% endmacro %}


{#-
    The config shared by the models that replace whole partitions (days, or user buckets),
    set by calling this macro at the top of the model: incremental with
    daily_incremental_strategy, partitioned by `partition_column` on Spark, keyed by it for
    delete+insert elsewhere, failing on a schema change. With `test_day_column` (the model
    is partitioned by day), a scheduled cycle's data tests read only the rebuilt days of it
    (macros/test_days.sql), and a pre-hook removes the days stage --prune emptied
    (macros/pruned_days.sql).
    A model's own keys go in its own config() call beside it.
-#}
{% macro partition_incremental(partition_column, test_day_column=none) %}
    {%- if test_day_column is not none -%}
        {%- do config(meta={'test_day_column': test_day_column}) -%}
        {#- partitions by day: the days stage --prune emptied go first -#}
        {%- do config(pre_hook="{{ sparkify.remove_pruned_days('"
                               ~ partition_column ~ "') }}") -%}
    {%- endif -%}
    {%- do config(
        materialized='incremental',
        incremental_strategy=sparkify.daily_incremental_strategy(),
        unique_key=(none if target.type == 'spark' else partition_column),
        on_schema_change='fail',
        partition_by=[partition_column],
    ) -%}
{% endmacro %}
