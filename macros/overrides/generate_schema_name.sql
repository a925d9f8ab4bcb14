{#-
    dbt's default schema names (the target's schema; `<target schema>_<custom schema>` for
    nodes with +schema), but every schema name must be a plain identifier: dbt pastes them
    into its SQL inside quotes it does not escape, so `x"; drop table y; --` would run. The
    rule is ingest.raw.contract.SCHEMA_NAME, the same literal (tests/test_schema_names.py
    compares them): letters, digits and underscores, at most 63 (PostgreSQL's limit), not
    starting with a digit. The profiles cannot raise an error (`exceptions` is not in their
    context), so this macro, which dbt runs for every node while parsing, before anything
    connects, is dbt's gate for SPARKIFY_SCHEMA. It also checks the sources' schema (var
    raw_schema, else SPARKIFY_RAW_SCHEMA, as in _sparkify__sources.yml), which no macro sees.
-#}
{% macro generate_schema_name(custom_schema_name=none, node=none) -%}
    {%- do validate_schema_name(target.schema, "SPARKIFY_SCHEMA (the target's schema)") -%}
    {%- set raw_schema = var('raw_schema', env_var('SPARKIFY_RAW_SCHEMA', 'sparkify_raw')) -%}
    {%- do validate_schema_name(raw_schema, "var raw_schema / SPARKIFY_RAW_SCHEMA") -%}
    {%- if custom_schema_name is none -%}
        {{ return(target.schema) }}
    {%- endif -%}
    {%- set custom = custom_schema_name | trim -%}
    {%- set owner = (" of " ~ node.unique_id) if node is not none else "" -%}
    {%- do validate_schema_name(custom, "custom schema (+schema" ~ owner ~ ")") -%}
    {%- set schema_name = target.schema ~ "_" ~ custom -%}
    {%- do validate_schema_name(schema_name, "schema" ~ owner ~ " (<target schema>_<+schema>)") -%}
    {{ return(schema_name) }}
{%- endmacro %}

{#- Compilation error naming `setting` unless `name` is a valid schema name (see above). -#}
{% macro validate_schema_name(name, setting) -%}
    {%- set schema_name_pattern = '^[A-Za-z_][A-Za-z0-9_]{0,62}$' -%}
    {%- if name is not string or not modules.re.fullmatch(schema_name_pattern, name) -%}
        {%- do exceptions.raise_compiler_error(
            setting ~ " " ~ ("%r" | format(name)) ~ " is not a valid schema name: use letters,"
            ~ " digits and underscores, at most 63, not starting with a digit"
        ) -%}
    {%- endif -%}
{%- endmacro %}
