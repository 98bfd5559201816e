with source as (
    select * from {{ source('silver', 'orders') }}
)

select
    order_id,
    customer_id,
    status,
    status not in ('cancelled', 'returned') as is_revenue,
    ordered_at,
    cast(ordered_at as date) as order_date,
    updated_at
from source
