{#-
    Whether the rows of raw table `name` (song_data, log_data) may have changed since the
    last successful build with this project. A scheduled cycle or a stream knows it from
    its ledger and passes var `changed_raw_tables` (the tables that changed,
    ingest/run/scheduler.py); without it (`dbt build` by hand, a full build) every table
    may have. Read only while a build executes.
-#}
{% macro raw_table_changed(name) %}
    {%- set changed = var('changed_raw_tables', none) -%}
    {{ return(changed is none or name in changed) }}
{% endmacro %}
