with source as (
    select * from {{ source('silver', 'deleted_customers') }}
)

select
    customer_id,
    cast(dms_timestamp as timestamp) as deleted_at
from source
