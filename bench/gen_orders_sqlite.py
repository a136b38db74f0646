"""Generate an order-database-shaped SQLite file and its typed PostgreSQL schema (for the user-path bench).

Shape: customers, products (with a BLOB image each), orders, a 600 k-row child table named
``order items`` (a quoted name with a space, composite primary key ``(order_id, line_no)``), and
``shipments`` keyed by a composite ``(order_id, parcel_no)`` too. Deterministic for a seed.

    python bench/gen_orders_sqlite.py --items 600000 --out /tmp/orders.sqlite
"""

from __future__ import annotations

import argparse
import random
import sqlite3
from pathlib import Path

from psycopg import sql

SQLITE_DDL = """
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
                        country TEXT, created_at TEXT NOT NULL);
CREATE TABLE products (product_id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
                       price REAL NOT NULL, image BLOB);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers,
                     ordered_at TEXT NOT NULL, status TEXT NOT NULL, note TEXT);
CREATE TABLE "order items" (order_id INTEGER NOT NULL REFERENCES orders, line_no INTEGER NOT NULL,
                            product_id INTEGER NOT NULL REFERENCES products, qty INTEGER NOT NULL,
                            unit_price REAL NOT NULL, PRIMARY KEY (order_id, line_no));
CREATE TABLE shipments (order_id INTEGER NOT NULL REFERENCES orders, parcel_no INTEGER NOT NULL,
                        carrier TEXT NOT NULL, label BLOB, shipped_at TEXT, PRIMARY KEY (order_id, parcel_no));
CREATE INDEX ix_items_product ON "order items" (product_id);
"""

TYPED_TARGET_DDL = """
CREATE TABLE customers (customer_id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE,
                        country text, created_at timestamptz NOT NULL);
CREATE TABLE products (product_id bigint PRIMARY KEY, sku text NOT NULL UNIQUE, title text NOT NULL,
                       price numeric(12, 2) NOT NULL, image bytea);
CREATE TABLE orders (order_id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
                     ordered_at timestamptz NOT NULL, status text NOT NULL, note text);
CREATE TABLE "order items" (order_id bigint NOT NULL REFERENCES orders, line_no integer NOT NULL,
                            product_id bigint NOT NULL REFERENCES products, qty integer NOT NULL,
                            unit_price numeric(12, 2) NOT NULL, PRIMARY KEY (order_id, line_no));
CREATE TABLE shipments (order_id bigint NOT NULL REFERENCES orders, parcel_no integer NOT NULL,
                        carrier text NOT NULL, label bytea, shipped_at timestamptz, PRIMARY KEY (order_id, parcel_no));
CREATE INDEX ix_items_product ON "order items" (product_id);
CREATE INDEX ix_orders_customer ON orders (customer_id);
CREATE INDEX ix_orders_ordered_at ON orders (ordered_at);
"""

TABLES = ("customers", "products", "orders", "order items", "shipments")
STATUSES = ("new", "paid", "shipped", "delivered", "returned", "cancelled")
COUNTRIES = ("JP", "DE", "FR", "US", "BR", "IN", "ES", None)


def _ts(rng: random.Random) -> str:
    return (f"20{rng.randint(18, 25):02d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}")


def generate(path: str | Path, items: int = 600_000, seed: int = 0) -> dict[str, int]:
    """Write the file; returns rows per table. Orders hold 6 items on average; one shipment per 2 orders."""
    rng = random.Random(seed)
    path = Path(path)
    path.unlink(missing_ok=True)
    n_orders = max(1, items // 6)
    n_customers = max(1, n_orders // 5)
    n_products = 2000
    conn = sqlite3.connect(path)
    conn.executescript(SQLITE_DDL)
    rows = dict.fromkeys(TABLES, 0)
    with conn:
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", (
            (i, f"Customer {i} Ünïcødé" if i % 7 == 0 else f"Customer {i}", f"c{i}@example.org",
             rng.choice(COUNTRIES), _ts(rng)) for i in range(1, n_customers + 1)))
        conn.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?)", (
            (i, f"SKU-{i:06d}", f"Product {i}", round(rng.uniform(0.5, 500), 2),
             rng.randbytes(rng.randint(200, 2000)) if i % 10 else None) for i in range(1, n_products + 1)))
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", (
            (i, rng.randint(1, n_customers), _ts(rng), rng.choice(STATUSES),
             None if i % 3 else f"note for order {i}") for i in range(1, n_orders + 1)))

        def lines():
            left, order = items, 0
            while left > 0:
                order = order % n_orders + 1
                for line in range(1, min(left, rng.randint(1, 11)) + 1):
                    left -= 1
                    yield (order, line, rng.randint(1, n_products), rng.randint(1, 9), round(rng.uniform(0.5, 500), 2))

        conn.executemany('INSERT OR IGNORE INTO "order items" VALUES (?, ?, ?, ?, ?)', lines())
        conn.executemany("INSERT INTO shipments VALUES (?, ?, ?, ?, ?)", (
            (o, p, rng.choice(("DHL", "UPS", "ヤマト", "La Poste")), rng.randbytes(64), _ts(rng))
            for o in range(1, n_orders + 1, 2) for p in (1, 2)[: 1 + o % 2]))
    for t in TABLES:
        rows[t] = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t)).as_string(None)).fetchone()[0]
    conn.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=600_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(generate(a.out, a.items, a.seed))


if __name__ == "__main__":
    main()
