with source as (
    select * from {{ source('silver', 'deleted_order_items') }}
)

select
    order_item_id,
    order_id,
    product_id,
    cast(dms_timestamp as timestamp) as deleted_at
from source
