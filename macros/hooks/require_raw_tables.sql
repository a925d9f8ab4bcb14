{#-
    on-run-start: before a run that builds a model reading the raw tables, check that they
    exist on this target, and say which command stages them. Without it the first staging
    model fails deep inside the engine (on a Spark Thrift Server whose metastore has never
    seen a stage: a Java stack trace ending in TABLE_OR_VIEW_NOT_FOUND). Runs that select
    no such model (unit tests, seeds) are not checked; nor is anything when compiling
    without introspection.
-#}
{% macro require_raw_tables() %}
    {%- if not execute or not flags.INTROSPECT -%}
        {{ return('') }}
    {%- endif -%}
    {%- set needed = [] -%}
    {%- for unique_id in selected_resources -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node is not none and node.resource_type == 'model' -%}
            {%- for upstream in node.depends_on.nodes -%}
                {%- if upstream.startswith('source.') and upstream not in needed -%}
                    {%- do needed.append(upstream) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set missing = [] -%}
    {%- for source_id in needed | sort -%}
        {%- set source = graph.sources[source_id] -%}
        {%- set relation = adapter.get_relation(
            database=source.database,
            schema=source.schema,
            identifier=source.identifier,
        ) -%}
        {%- if relation is none -%}
            {%- do missing.append(source.schema ~ '.' ~ source.identifier) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if missing -%}
        {%- set stage -%}
            python -m ingest stage --target {{ target.name }}
        {%- endset -%}
        {{ exceptions.raise_compiler_error(
            "the raw tables " ~ missing | join(', ') ~ " do not exist on target "
            ~ target.name ~ " yet: stage the raw data there first (`" ~ stage
            ~ " --source <dir or s3://bucket/prefix>`; `make run` stages and builds the"
            ~ " embedded Spark), then run dbt again"
        ) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
