{#- Epoch milliseconds (integer or float) to a UTC timestamp, milliseconds kept. -#}
{% macro epoch_ms_to_timestamp(epoch_ms) -%}
    {{ return(adapter.dispatch('epoch_ms_to_timestamp', 'sparkify')(epoch_ms)) }}
{%- endmacro %}

{% macro default__epoch_ms_to_timestamp(epoch_ms) -%}
    {#- divide by 1000.0, not 1000: integer division would drop the milliseconds -#}
    timestamp 'epoch' + {{ epoch_ms }} / 1000.0 * interval '1 second'
{%- endmacro %}

{% macro spark__epoch_ms_to_timestamp(epoch_ms) -%}
    timestamp_millis(cast({{ epoch_ms }} as bigint))
{%- endmacro %}
