with source as (
    select * from {{ source('silver', 'customers') }}
)

select
    customer_id,
    email,
    full_name,
    country,
    segment,
    created_at,
    updated_at,
    -- when the row last changed at the source (DMS's commit time; a full load's transfer time)
    cast(dms_timestamp as timestamp) as changed_at
from source
