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
    updated_at,
    -- when the row last changed at the source (DMS's commit time; a full load's transfer time)
    cast(dms_timestamp as timestamp) as changed_at
from source
