{#
  What an incremental mart recomputes: the keys that source changes since its last run touched. "Since" is the
  latest change the mart has counted (its `source_changed_at`) less a lookback (`gold_lookback_hours`, default
  1; `daily_revenue_lookback_hours` still works) for a change committed before that but delivered after: DMS
  delivers in commit order, and commit times can interleave by a little. A mart whose `source_changed_at` is
  empty (its first incremental run) recomputes every key.
#}

{% macro changes_since() -%}
    select
        coalesce(max(source_changed_at), timestamp '1970-01-01 00:00:00')
        - interval '{{ var("gold_lookback_hours", var("daily_revenue_lookback_hours", 1)) }}' hour as changed_after
    from {{ this }}
{%- endmacro %}

{#
  The values of an order-level column (order_id, order_date, customer_id) that changed or deleted orders and order items
  count for, since `changed_after` of the `since` CTE. A PostgreSQL delete carries the key only, so a deleted
  order's values come from its tombstone (the merge keeps the deleted row's last values), and a deleted item's
  order from the current orders or, if the order went too, from its tombstone. Assumes an order keeps its
  value of the column: an order moved to another date or customer leaves the old one's figures until a full
  refresh.
#}
{% macro touched_by_orders(column) -%}
    select orders.{{ column }}
    from {{ ref('stg_orders') }} as orders
    cross join since
    where orders.changed_at > since.changed_after
    union
    select orders.{{ column }}
    from {{ ref('stg_order_items') }} as order_items
    inner join {{ ref('stg_orders') }} as orders on orders.order_id = order_items.order_id
    cross join since
    where order_items.changed_at > since.changed_after
    union
    select deleted.{{ column }}
    from {{ ref('stg_deleted_orders') }} as deleted
    cross join since
    where deleted.deleted_at > since.changed_after
    union
    select coalesce(orders.{{ column }}, deleted_orders.{{ column }}) as {{ column }}
    from {{ ref('stg_deleted_order_items') }} as deleted_items
    cross join since
    left join {{ ref('stg_orders') }} as orders on orders.order_id = deleted_items.order_id
    left join {{ ref('stg_deleted_orders') }} as deleted_orders on deleted_orders.order_id = deleted_items.order_id
    where deleted_items.deleted_at > since.changed_after
{%- endmacro %}
