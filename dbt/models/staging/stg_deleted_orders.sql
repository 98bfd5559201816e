with source as (
    select * from {{ source('silver', 'deleted_orders') }}
)

select
    order_id,
    customer_id,
    cast(ordered_at as date) as order_date,
    cast(dms_timestamp as timestamp) as deleted_at
from source
