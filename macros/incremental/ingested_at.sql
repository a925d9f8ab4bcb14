{#-
    When a raw row was staged. The verified landing (Spark) and the warehouse loads always
    set it; tables that read S3 directly (Spark `--location direct`) cannot, and their rows
    count as staged now, so incremental models rebuild every day they hold.
-#}
{% macro ingested_at(column) %}
    coalesce({{ column }}, cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}))
{%- endmacro %}
