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
    updated_at
from source
