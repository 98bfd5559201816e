with products as (
    select * from {{ ref('stg_products') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
    where is_revenue
),

order_items as (
    select * from {{ ref('stg_order_items') }}
),

sales as (
    select
        order_items.product_id,
        count(distinct order_items.order_id) as order_count,
        sum(order_items.quantity) as units_sold,
        sum(order_items.line_amount) as revenue
    from order_items
    inner join orders on orders.order_id = order_items.order_id
    group by order_items.product_id
)

select
    products.product_id,
    products.sku,
    products.category,
    products.unit_price as current_unit_price,
    coalesce(sales.order_count, 0) as order_count,
    coalesce(sales.units_sold, 0) as units_sold,
    coalesce(sales.revenue, 0) as revenue
from products
left join sales on sales.product_id = products.product_id
