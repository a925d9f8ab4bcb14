{#- Remove one leading and one trailing double quote when a value is wrapped in them. -#}
{% macro strip_wrapping_quotes(expression) -%}
    case
        when {{ expression }} like '"%"' and length({{ expression }}) >= 2
            then substring({{ expression }}, 2, length({{ expression }}) - 2)
        else {{ expression }}
    end
{%- endmacro %}
