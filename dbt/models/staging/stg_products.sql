with source as (
    select * from {{ source('silver', 'products') }}
)

select
    product_id,
    sku,
    name as product_name,
    category,
    unit_price,
    active as is_active,
    updated_at,
    -- when the row last changed at the source (DMS's commit time; a full load's transfer time)
    cast(dms_timestamp as timestamp) as changed_at
from source
