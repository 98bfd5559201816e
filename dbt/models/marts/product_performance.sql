{#
  Incremental by product: a run recomputes only the products whose row changed since the last run, the
  products of every order that a change touched (the order's own row, since its status decides whether its
  items count, or any of its items), and the products of deleted items; each over all its items, so the
  figures stay exact (macros/incremental_gold.sql). A product deleted at the source loses its row (the
  post-hook). Assumes an item keeps its product. `--full-refresh` rebuilds every product.
#}
-- the incremental branch and the post-hook read these; dbt parses with them off, so they are declared here
-- depends_on: {{ ref('stg_deleted_orders') }}
-- depends_on: {{ ref('stg_deleted_order_items') }}
-- depends_on: {{ ref('stg_deleted_products') }}
{{ config(
    unique_key='product_id',
    post_hook="delete from {{ this }} where product_id in (select product_id from {{ ref('stg_deleted_products') }})"
) }}

with products as (
    select * from {{ ref('stg_products') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
),

{% if is_incremental() %}
since as (
    {{ changes_since() }}
),

touched_orders as (
    {{ touched_by_orders('order_id') }}
),

touched_products as (
    select products.product_id
    from products
    cross join since
    where products.changed_at > since.changed_after
    union
    select order_items.product_id
    from {{ ref('stg_order_items') }} as order_items
    where order_items.order_id in (select order_id from touched_orders)
    union
    select deleted_items.product_id
    from {{ ref('stg_deleted_order_items') }} as deleted_items
    cross join since
    where deleted_items.deleted_at > since.changed_after
),
{% endif %}

order_items as (
    select * from {{ ref('stg_order_items') }}
    {% if is_incremental() %}
    where product_id in (select product_id from touched_products)
    {% endif %}
),

sales as (
    select
        order_items.product_id,
        count(distinct order_items.order_id) as order_count,
        sum(order_items.quantity) as units_sold,
        sum(order_items.line_amount) as revenue,
        max(greatest(orders.changed_at, order_items.changed_at)) as changed_at
    from order_items
    inner join orders on orders.order_id = order_items.order_id
    where orders.is_revenue
    group by order_items.product_id
)

select
    products.product_id,
    products.sku,
    products.category,
    products.unit_price as current_unit_price,
    coalesce(sales.order_count, 0) as order_count,
    coalesce(sales.units_sold, 0) as units_sold,
    coalesce(sales.revenue, 0) as revenue,
    greatest(products.changed_at, coalesce(sales.changed_at, products.changed_at)) as source_changed_at
from products
left join sales on sales.product_id = products.product_id
{% if is_incremental() %}
where products.product_id in (select product_id from touched_products)
{% endif %}
