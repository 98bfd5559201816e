"""The OLTP shop schema of the source database, its seed data and the change simulator.

Four related tables with primary and foreign keys, the shape most commerce
sources have.  Changes are generated from a seeded RNG so a run is
reproducible, and they respect the foreign keys (an order's items are deleted
with it, a customer is deleted only when it has no orders), the way an
application would change the data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PUBLICATION = "edp_cdc"
SCHEMA = "public"
ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled", "returned")
COUNTRIES = ("DE", "FR", "NL", "GB", "US", "ES", "IT", "PL")
SEGMENTS = ("consumer", "smb", "enterprise")
CATEGORIES = ("books", "electronics", "garden", "kitchen", "toys", "sports")

DDL = f"""
CREATE TABLE IF NOT EXISTS customers (
    customer_id   bigint PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    full_name     text NOT NULL,
    country       char(2) NOT NULL,
    segment       text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    product_id    bigint PRIMARY KEY,
    sku           text NOT NULL UNIQUE,
    name          text NOT NULL,
    category      text NOT NULL,
    unit_price    numeric(10, 2) NOT NULL CHECK (unit_price >= 0),
    active        boolean NOT NULL DEFAULT true,
    updated_at    timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id      bigint PRIMARY KEY,
    customer_id   bigint NOT NULL REFERENCES customers (customer_id),
    status        text NOT NULL CHECK (status IN ({", ".join(f"'{s}'" for s in ORDER_STATUSES)})),
    ordered_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS order_items (
    order_item_id bigint PRIMARY KEY,
    order_id      bigint NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    product_id    bigint NOT NULL REFERENCES products (product_id),
    quantity      integer NOT NULL CHECK (quantity > 0),
    unit_price    numeric(10, 2) NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id);
CREATE INDEX IF NOT EXISTS order_items_order_idx ON order_items (order_id);
"""
TABLES = ("customers", "products", "orders", "order_items")
# Bounds that keep one call's transaction sane: seed inserts in chunks of SEED_CHUNK customers' or orders'
# rows, and a batch is one transaction of one statement per change. Larger sources are several calls.
MAX_SEED_CUSTOMERS = 1_000_000  # about 10M source rows
SEED_CHUNK = 50_000
MAX_BATCH_ROWS = 1_000_000  # per kind (inserts, updates, deletes) and call


@dataclass(frozen=True)
class SeedSize:
    customers: int = 200
    products: int = 50
    orders: int = 600
    items_per_order: int = 3

    @classmethod
    def scaled(cls, customers: int) -> SeedSize:
        """A source of about `customers` customers with proportional products and orders."""
        if customers > MAX_SEED_CUSTOMERS:
            raise ValueError(f"a seed holds at most {MAX_SEED_CUSTOMERS:,} customers (about 10M rows), "
                             f"got {customers:,}")
        return cls(customers=customers, products=max(10, customers // 4), orders=customers * 3)


@dataclass
class BatchResult:
    inserts: int = 0
    updates: int = 0
    deletes: int = 0


def create_schema(conn) -> None:
    with conn.cursor() as cur:
        cur.execute(DDL)
        cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (PUBLICATION,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE PUBLICATION {PUBLICATION} FOR TABLE {', '.join(TABLES)}")
    conn.commit()


def is_seeded(conn) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('public.customers') IS NOT NULL")
        if not cur.fetchone()[0]:
            return False
        cur.execute("SELECT EXISTS (SELECT 1 FROM customers)")
        return cur.fetchone()[0]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def seed(conn, size: SeedSize = SeedSize(), rng_seed: int = 7) -> dict[str, int]:
    """Create the schema and load a deterministic starting data set; refuses to seed twice."""
    create_schema(conn)
    if is_seeded(conn):
        raise ValueError("source database already holds data; seeding again would mix two data sets "
                         "(use another EDP_HOME, or `make clean` to start over)")
    rng = random.Random(rng_seed)
    now = _now()
    counts = {"customers": size.customers, "products": size.products, "orders": size.orders, "order_items": 0}
    with conn.cursor() as cur:
        for start in range(1, size.customers + 1, SEED_CHUNK):  # in chunks: a 10M-row source fits in memory
            _insert(cur, "customers", [_customer(rng, i, now) for i in range(start, min(start + SEED_CHUNK,
                                                                                        size.customers + 1))])
        products = [_product(rng, i, now) for i in range(1, size.products + 1)]
        _insert(cur, "products", products)
        for start in range(1, size.orders + 1, SEED_CHUNK):
            orders, items = [], []
            for oid in range(start, min(start + SEED_CHUNK, size.orders + 1)):
                orders.append(_order(rng, oid, rng.randint(1, size.customers), now))
                for _ in range(rng.randint(1, size.items_per_order)):
                    counts["order_items"] += 1
                    items.append(_item(rng, counts["order_items"], oid, products))
            _insert(cur, "orders", orders)
            _insert(cur, "order_items", items)
    conn.commit()
    return counts


def simulate(conn, inserts: int = 50, updates: int = 35, deletes: int = 15, rng_seed: int | None = None) -> BatchResult:
    """Apply one batch of business changes in a single transaction, in a shuffled order.

    Each insert is a new customer or a new order with its items; each update
    changes an order's status, a product's price or a customer's segment; each
    delete removes an order (its items cascade), an order item or a customer
    without orders.  Counts returned are rows touched.
    """
    for name, value in (("inserts", inserts), ("updates", updates), ("deletes", deletes)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if value > MAX_BATCH_ROWS:
            raise ValueError(f"a batch holds at most {MAX_BATCH_ROWS:,} {name} (one transaction), got {value:,}")
    if inserts + updates + deletes == 0:
        raise ValueError("a batch needs at least one insert, update or delete")
    rng = random.Random(rng_seed)
    result = BatchResult()
    now = _now()
    with conn.cursor() as cur:
        ids = {t: _max_id(cur, t, pk) for t, pk in (("customers", "customer_id"), ("products", "product_id"),
                                                     ("orders", "order_id"), ("order_items", "order_item_id"))}
        cur.execute("SELECT product_id, unit_price FROM products WHERE active ORDER BY product_id")
        products = [{"product_id": p, "unit_price": price} for p, price in cur.fetchall()]
        if not products:
            raise ValueError("no active products: seed the source database first (`edp seed`)")
        plan = ["I"] * inserts + ["U"] * updates + ["D"] * deletes
        rng.shuffle(plan)
        for op in plan:
            if op == "I":
                result.inserts += _insert_change(cur, rng, ids, products, now)
            elif op == "U":
                result.updates += _update_change(cur, rng, ids, now)
            else:
                result.deletes += _delete_change(cur, rng, ids)
    conn.commit()
    return result


def _insert_change(cur, rng, ids, products, now) -> int:
    if rng.random() < 0.2:
        ids["customers"] += 1
        _insert(cur, "customers", [_customer(rng, ids["customers"], now)])
        return 1
    customer = _pick(cur, rng, ids, "customers", "customer_id")
    if customer is None:
        return 0
    ids["orders"] += 1
    _insert(cur, "orders", [_order(rng, ids["orders"], customer, now)])
    items = []
    for _ in range(rng.randint(1, 3)):
        ids["order_items"] += 1
        items.append(_item(rng, ids["order_items"], ids["orders"], products))
    _insert(cur, "order_items", items)
    return 1 + len(items)


def _update_change(cur, rng, ids, now) -> int:
    pick = rng.random()
    if pick < 0.6:
        table, pk, where = "orders", "order_id", "status IN ('placed', 'shipped')"
        change = "status = %s", rng.choice(("shipped", "delivered", "cancelled", "returned"))
    elif pick < 0.8:
        table, pk, where = "products", "product_id", ""
        change = "unit_price = round(unit_price * %s, 2)", rng.choice((0.9, 0.95, 1.05, 1.1))
    else:
        table, pk, where = "customers", "customer_id", ""
        change = "segment = %s", rng.choice(SEGMENTS)
    key = _pick(cur, rng, ids, table, pk, where)
    if key is None:
        return 0
    cur.execute(f"UPDATE {table} SET {change[0]}, updated_at = %s WHERE {pk} = %s", (change[1], now, key))
    return cur.rowcount


def _delete_change(cur, rng, ids) -> int:
    if rng.random() < 0.7:
        table, pk, where = "orders", "order_id", ""
    elif rng.random() < 0.5:
        table, pk, where = "order_items", "order_item_id", ""
    else:
        table, pk, where = "customers", "customer_id", \
            "NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = customers.customer_id)"
    key = _pick(cur, rng, ids, table, pk, where)
    if key is None:
        return 0
    cur.execute(f"DELETE FROM {table} WHERE {pk} = %s", (key,))
    return cur.rowcount


def _pick(cur, rng, ids, table: str, pk: str, where: str = "") -> int | None:
    """A random row's key: the first matching key at or after a random point of the key range, wrapping
    around. An index walk from that point, so a batch costs the same on a 10M-row source as on a small one
    (`ORDER BY random()` reads the whole table for every change)."""
    start = rng.randint(1, max(1, ids[table]))
    cond = f" AND {where}" if where else ""
    cur.execute(f"(SELECT {pk} FROM {table} WHERE {pk} >= %s{cond} ORDER BY {pk} LIMIT 1) UNION ALL "
                f"(SELECT {pk} FROM {table} WHERE {pk} < %s{cond} ORDER BY {pk} LIMIT 1) LIMIT 1", (start, start))
    row = cur.fetchone()
    return None if row is None else row[0]


def _max_id(cur, table: str, pk: str) -> int:
    cur.execute(f"SELECT coalesce(max({pk}), 0) FROM {table}")
    return cur.fetchone()[0]


def _insert(cur, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    from psycopg2.extras import execute_values

    cols = list(rows[0])
    execute_values(cur, f"INSERT INTO {table} ({', '.join(cols)}) VALUES %s", [tuple(r[c] for c in cols) for r in rows])


def _customer(rng: random.Random, cid: int, now: datetime) -> dict:
    created = now - timedelta(days=rng.randint(1, 900), seconds=rng.randint(0, 86399))
    return {
        "customer_id": cid,
        "email": f"customer{cid}@example.com",
        "full_name": f"Customer {cid}",
        "country": rng.choice(COUNTRIES),
        "segment": rng.choice(SEGMENTS),
        "created_at": created,
        "updated_at": created,
    }


def _product(rng: random.Random, pid: int, now: datetime) -> dict:
    return {
        "product_id": pid,
        "sku": f"SKU-{pid:06d}",
        "name": f"Product {pid}",
        "category": rng.choice(CATEGORIES),
        "unit_price": round(rng.uniform(2, 500), 2),
        "active": rng.random() > 0.05 or pid == 1,
        "updated_at": now,
    }


def _order(rng: random.Random, oid: int, customer_id: int, now: datetime) -> dict:
    ordered = now - timedelta(days=rng.randint(0, 120), seconds=rng.randint(0, 86399))
    return {
        "order_id": oid,
        "customer_id": customer_id,
        "status": rng.choices(ORDER_STATUSES, weights=(20, 25, 45, 6, 4))[0],
        "ordered_at": ordered,
        "updated_at": ordered,
    }


def _item(rng: random.Random, item_id: int, order_id: int, products: list[dict]) -> dict:
    product = rng.choice(products)
    return {
        "order_item_id": item_id,
        "order_id": order_id,
        "product_id": product["product_id"],
        "quantity": rng.randint(1, 5),
        "unit_price": product["unit_price"],
    }
