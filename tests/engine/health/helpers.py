"""A small target for the health tests: a table with an unused and a duplicate index, one never analyzed,
and a load generator (inserts, a rollback storm, a slow query)."""

from __future__ import annotations

import psycopg

from migrations_ops.target import TargetConn


def build(target: TargetConn) -> None:
    """Tables ``orders`` (analyzed; an unused index and a duplicate pair) and ``fresh`` (never analyzed)."""
    with psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute("CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, note text) "
                  "WITH (autovacuum_enabled = false)")
        c.execute("INSERT INTO orders SELECT g, g % 100, 'n' || g FROM generate_series(1, 5000) AS g")
        c.execute("CREATE INDEX orders_note_unused ON orders (note)")
        c.execute("CREATE INDEX orders_customer_a ON orders (customer)")
        c.execute("CREATE INDEX orders_customer_b ON orders (customer)")
        c.execute("ANALYZE orders")
        c.execute("CREATE TABLE fresh (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)")
        c.execute("INSERT INTO fresh SELECT g, 'v' FROM generate_series(1, 10) AS g")


def load(target: TargetConn, *, inserts: int = 50, rollbacks: int = 30, slow_seconds: float = 0.0) -> None:
    """Some inserts (committed one by one), a storm of rolled-back transactions, and a slow query."""
    with psycopg.connect(**target.connect_kwargs("mop-load"), autocommit=False) as c:
        base = c.execute("SELECT coalesce(max(id), 0) FROM orders").fetchone()[0]
        for i in range(inserts):
            c.execute("INSERT INTO orders VALUES (%s, 1, 'x')", (base + i + 1,))
            c.commit()
        for _ in range(rollbacks):
            c.execute("INSERT INTO orders VALUES (-1, 1, 'gone')")
            c.rollback()
        if slow_seconds:
            c.execute("SELECT pg_sleep(%s)", (slow_seconds,))
            c.commit()
