with customers as (
    select * from {{ ref('stg_customers') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
    where is_revenue
),

order_items as (
    select * from {{ ref('stg_order_items') }}
),

order_totals as (
    select
        orders.order_id,
        orders.customer_id,
        orders.order_date,
        sum(order_items.line_amount) as order_amount
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
        sum(order_amount) as lifetime_revenue
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
    {{ money_average("per_customer.lifetime_revenue", "per_customer.order_count") }} as avg_order_value
from customers
left join per_customer on per_customer.customer_id = customers.customer_id
