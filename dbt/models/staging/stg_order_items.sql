with source as (
    select * from {{ source('silver', 'order_items') }}
)

select
    order_item_id,
    order_id,
    product_id,
    quantity,
    unit_price,
    quantity * unit_price as line_amount,
    cast(dms_timestamp as timestamp) as changed_at
from source
