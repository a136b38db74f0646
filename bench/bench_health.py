"""Benchmark health: the health reading on a database of many tables and indexes, and the search parity check.

1. Builds a throwaway database with ``--tables`` tables of four indexes each
   (a primary key and three plain indexes: ``--tables 500`` gives 2,000), a few
   rows each, then times, interleaved in the same run on one open diagnostic
   connection: ``read_health`` (the new reading), the lock and activity
   snapshot the portal already takes (``read_snapshot``), and a naive reading
   that sizes every relation (``pg_total_relation_size`` of every table, every
   index's scans).
2. Builds an FTS5 table of ``--rows`` rows in SQLite and its copy (tsvector +
   GIN, as the copy makes it), then times ``search_parity`` with ``--queries``
   queries drawn from the data, against the same queries run on the SQLite side
   alone.

Usage: ``.venv/bin/python bench/bench_health.py [--tables 500] [--runs 30] [--rows 1000000] [--queries 50]``
(in-process: no worker).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from migrations_ops.copy.fts import create_contentful_table, parse_fts  # noqa: E402
from migrations_ops.health import parity  # noqa: E402
from migrations_ops.health.reading import HEALTH_STATEMENT_TIMEOUT_MS, read_health  # noqa: E402
from migrations_ops.locks.connection import diag_connection  # noqa: E402
from migrations_ops.locks.snapshot import read_snapshot  # noqa: E402
from migrations_ops.target import TargetConn  # noqa: E402

NAIVE = """
SELECT s.relid, pg_total_relation_size(s.relid), s.n_live_tup, s.n_dead_tup, s.seq_scan,
       (SELECT count(*) FROM pg_stat_user_indexes AS i WHERE i.relid = s.relid AND i.idx_scan = 0)
FROM pg_stat_user_tables AS s
"""
WORDS = [f"w{i}" for i in range(5000)] + "the running runs connections searching gardens cats".split()


def admin_target() -> TargetConn:
    from tests.conftest import admin_conn

    return admin_conn()


def create_db(admin: TargetConn, prefix: str) -> TargetConn:
    name = f"mopb_{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**admin.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return TargetConn(host=admin.host, port=admin.port, dbname=name, user=admin.user, password=admin.password,
                      sslmode=admin.sslmode)


def drop_db(admin: TargetConn, target: TargetConn) -> None:
    with psycopg.connect(**admin.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.dbname)))


def build_many(target: TargetConn, tables: int) -> None:
    with psycopg.connect(**target.connect_kwargs("mop-bench"), autocommit=True) as c:
        for i in range(tables):
            t = sql.Identifier(f"t{i:04d}")
            c.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, a int, b text, c int)").format(t))
            for col in ("a", "b", "c"):
                c.execute(sql.SQL("CREATE INDEX {} ON {} ({})").format(
                    sql.Identifier(f"t{i:04d}_{col}"), t, sql.Identifier(col)))
            c.execute(sql.SQL("INSERT INTO {} SELECT g, g, 'x', g FROM generate_series(1, 20) AS g").format(t))
        c.execute("ANALYZE")


def interleaved(fns: dict[str, object], runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in fns}
    for f in fns.values():
        f()  # warm-up
    for _ in range(runs):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            out[k].append((time.perf_counter() - t0) * 1000)
    return out


def bench_reading(admin: TargetConn, tables: int, runs: int) -> None:
    target = create_db(admin, "health")
    try:
        t0 = time.perf_counter()
        build_many(target, tables)
        print(f"built {tables} tables, {tables * 4} indexes in {time.perf_counter() - t0:.1f} s")
        with diag_connection(target, HEALTH_STATEMENT_TIMEOUT_MS) as conn:
            r = read_health(conn, "bench")
            print(f"reading sees {r.index_count} indexes, {len(r.unused_indexes)} unused listed")
            times = interleaved({
                "read_health (new)": lambda: read_health(conn, "bench"),
                "read_snapshot (lock/activity, existing)": lambda: read_snapshot(conn, "bench"),
                "naive: size every table + unused per table": lambda: conn.execute(NAIVE).fetchall(),
            }, runs)
        for k, v in times.items():
            print(f"  {k:<45} median {statistics.median(v):7.1f} ms   max {max(v):7.1f} ms")
    finally:
        drop_db(admin, target)


def bench_parity(admin: TargetConn, rows: int, n_queries: int) -> None:
    target = create_db(admin, "parity")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fts.sqlite"
        rnd = random.Random(3)
        t0 = time.perf_counter()
        data = ((i, " ".join(rnd.choices(WORDS, k=10))) for i in range(1, rows + 1))
        with sqlite3.connect(path) as s:
            s.execute("CREATE VIRTUAL TABLE docs USING fts5(body)")
            s.executemany("INSERT INTO docs (rowid, body) VALUES (?, ?)", data)
        info = parse_fts("docs", "CREATE VIRTUAL TABLE docs USING fts5(body)")
        assert info is not None
        with psycopg.connect(**target.connect_kwargs("mop-bench"), autocommit=True) as c:
            create_contentful_table(c, "public", info, "simple")
            c.execute("DROP INDEX docs_search_tsv_idx")
            with sqlite3.connect(path) as s, c.cursor().copy("COPY public.docs (rowid, body) FROM STDIN") as cp:
                for row in s.execute("SELECT rowid, body FROM docs"):
                    cp.write_row(row)
            c.execute("CREATE INDEX docs_search_tsv_idx ON public.docs USING gin (search_tsv)")
            c.execute("ANALYZE public.docs")
        print(f"built {rows} FTS rows on both sides in {time.perf_counter() - t0:.1f} s")
        try:
            with psycopg.connect(**target.connect_kwargs("mop-bench"), autocommit=True) as c:
                t0 = time.perf_counter()
                report = parity.search_parity(path, c, "docs", count=n_queries)
                whole = time.perf_counter() - t0
            lite = sum(q.sqlite_ms for q in report.queries) / 1000
            pg = sum(q.pg_ms for q in report.queries) / 1000
            print(f"  search_parity, {len(report.queries)} queries: {whole:.2f} s "
                  f"(SQLite MATCH {lite:.2f} s, PostgreSQL @@ {pg:.2f} s, same queries); "
                  f"{report.matching} match")
        finally:
            drop_db(admin, target)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tables", type=int, default=500)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--skip-parity", action="store_true")
    a = ap.parse_args()
    admin = admin_target()
    bench_reading(admin, a.tables, a.runs)
    if not a.skip_parity:
        bench_parity(admin, a.rows, a.queries)


if __name__ == "__main__":
    main()
