{#-
    The first state code of a "City-City, ST-ST2" location: the text after the last ', ',
    up to the first '-'. Null when the location has no ', '. Portable split_part/reverse.
-#}
{% macro state_code_from_location(location) -%}
    case
        when {{ location }} like '%, %'
            then split_part(reverse(split_part(reverse({{ location }}), ' ,', 1)), '-', 1)
    end
{%- endmacro %}
