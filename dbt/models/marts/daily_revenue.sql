{#
  Incremental by order date: a run recomputes only the dates that rows changed or deleted since the last run
  touched, each date in full, so the figures stay exact (macros/incremental_gold.sql says what "since" and
  "touched" are). A date left with no revenue is written as zeros and removed by the post-hook.
  `--full-refresh` rebuilds every date.
#}
-- the incremental branch reads these; dbt parses with it off, so they are declared here
-- depends_on: {{ ref('stg_deleted_orders') }}
-- depends_on: {{ ref('stg_deleted_order_items') }}
{{ config(
    unique_key='order_date',
    post_hook="delete from {{ this }} where order_count = 0"
) }}

with orders as (
    select * from {{ ref('stg_orders') }}
),

order_items as (
    select * from {{ ref('stg_order_items') }}
),

{% if is_incremental() %}
since as (
    {{ changes_since() }}
),

touched_dates as (
    {{ touched_by_orders('order_date') }}
),
{% endif %}

revenue_lines as (
    select
        orders.order_date,
        orders.order_id,
        order_items.quantity,
        order_items.line_amount,
        greatest(orders.changed_at, order_items.changed_at) as changed_at
    from orders
    inner join order_items on order_items.order_id = orders.order_id
    where orders.is_revenue
    {% if is_incremental() %}
        and orders.order_date in (select order_date from touched_dates)
    {% endif %}
),

per_date as (
    select
        order_date,
        count(distinct order_id) as order_count,
        sum(quantity) as units_sold,
        sum(line_amount) as revenue,
        max(changed_at) as source_changed_at
    from revenue_lines
    group by order_date
)

select * from per_date
{% if is_incremental() %}
union all
-- a touched date with no revenue left: zeros replace its old row, then the post-hook deletes them
select
    touched_dates.order_date,
    0 as order_count,
    0 as units_sold,
    0 as revenue,
    cast(null as timestamp) as source_changed_at
from touched_dates
where touched_dates.order_date is not null
    and touched_dates.order_date not in (select order_date from per_date)
{% endif %}
