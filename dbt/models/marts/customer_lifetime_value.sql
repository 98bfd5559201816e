{#
  Incremental by customer: a run recomputes only the customers whose row, orders or order items changed or
  were deleted since the last run (macros/incremental_gold.sql), each customer over all their orders, so the
  figures stay exact. A customer deleted at the source loses their row (the post-hook). `--full-refresh`
  rebuilds every customer.
#}
-- the incremental branch and the post-hook read these; dbt parses with them off, so they are declared here
-- depends_on: {{ ref('stg_deleted_orders') }}
-- depends_on: {{ ref('stg_deleted_order_items') }}
-- depends_on: {{ ref('stg_deleted_customers') }}
{{ config(
    unique_key='customer_id',
    post_hook="delete from {{ this }} where customer_id in (select customer_id from {{ ref('stg_deleted_customers') }})"
) }}

with customers as (
    select * from {{ ref('stg_customers') }}
),

{% if is_incremental() %}
since as (
    {{ changes_since() }}
),

touched_customers as (
    select customers.customer_id
    from customers
    cross join since
    where customers.changed_at > since.changed_after
    union
    {{ touched_by_orders('customer_id') }}
),
{% endif %}

orders as (
    select * from {{ ref('stg_orders') }}
    where is_revenue
    {% if is_incremental() %}
        and customer_id in (select customer_id from touched_customers)
    {% endif %}
),

order_items as (
    select * from {{ ref('stg_order_items') }}
),

order_totals as (
    select
        orders.order_id,
        orders.customer_id,
        orders.order_date,
        sum(order_items.line_amount) as order_amount,
        max(greatest(orders.changed_at, order_items.changed_at)) as changed_at
    from orders
    inner join order_items on order_items.order_id = orders.order_id
    group by orders.order_id, orders.customer_id, orders.order_date
),

per_customer as (
    select
        customer_id,
        count(*) as order_count,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        sum(order_amount) as lifetime_revenue,
        max(changed_at) as changed_at
    from order_totals
    group by customer_id
)

select
    customers.customer_id,
    customers.country,
    customers.segment,
    coalesce(per_customer.order_count, 0) as order_count,
    per_customer.first_order_date,
    per_customer.last_order_date,
    coalesce(per_customer.lifetime_revenue, 0) as lifetime_revenue,
    {{ money_average("per_customer.lifetime_revenue", "per_customer.order_count") }} as avg_order_value,
    greatest(customers.changed_at, coalesce(per_customer.changed_at, customers.changed_at)) as source_changed_at
from customers
left join per_customer on per_customer.customer_id = customers.customer_id
{% if is_incremental() %}
where customers.customer_id in (select customer_id from touched_customers)
{% endif %}
