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
    updated_at
from source
