with orders as (
    select * from {{ ref('stg_orders') }}
),

order_items as (
    select * from {{ ref('stg_order_items') }}
),

revenue_lines as (
    select
        orders.order_date,
        orders.order_id,
        order_items.quantity,
        order_items.line_amount
    from orders
    inner join order_items on order_items.order_id = orders.order_id
    where orders.is_revenue
)

select
    order_date,
    count(distinct order_id) as order_count,
    sum(quantity) as units_sold,
    sum(line_amount) as revenue
from revenue_lines
group by order_date
