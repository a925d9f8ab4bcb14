{#-
    dbt's is_incremental(), but it asks the warehouse nothing when the answer is known
    without it: on a full refresh, for non-incremental models, and when compiling with
    `--no-introspect` (the Redshift target compiles without a cluster; the full-build SQL
    is rendered then). Otherwise: does the model's table exist yet?
-#}
{% macro is_incremental() %}
    {%- if not execute or not flags.INTROSPECT -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if model.config.materialized != 'incremental' or should_full_refresh() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(this.database, this.schema, this.table) -%}
    {{ return(relation is not none and relation.type == 'table') }}
{% endmacro %}
