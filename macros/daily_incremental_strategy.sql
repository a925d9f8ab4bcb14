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
