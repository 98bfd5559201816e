{#
  Averages of money must round the same way on every engine. DuckDB divides
  decimals in floating point (1163.465 becomes 1163.4649...), Athena in exact
  decimals, so we divide whole cents as integers and round half up ourselves.
#}

{% macro integer_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('integer_divide', 'edp')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) / ({{ denominator }}))
{%- endmacro %}

{% macro duckdb__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}

{% macro money_average(total, count) -%}
    {#- total is a non-negative amount with two decimals, count a positive integer -#}
    case when {{ count }} > 0 then
        cast(
            cast({{ integer_divide('2 * cast(' ~ total ~ ' * 100 as bigint) + ' ~ count, '2 * ' ~ count) }} as decimal(18, 2))
            * 0.01
        as decimal(18, 2))
    end
{%- endmacro %}
