"""Benchmark: verification of a table keyed by text, matching vs with rows to locate.

For each size (default 200,000 and 1,000,000 rows of ``customers``: a text
primary key in no particular order (``K`` + md5 of the row number, like a
customer code), int, numeric(12,2), float8, text, timestamptz; SQLite holds
REAL and ISO text):

1. ``verify(..., tables=["customers"])`` of the matching table (median of ``--runs``);
2. the same after planting three differences in the target (one row deleted,
   one inserted, one changed): the rows are located by key boundaries; the run
   checks all three are found (median of ``--runs``);

and prints both side by side with their ratio (goal: located within 2x of matching).

Usage: .venv/bin/python bench/bench_verify_textkey.py [--sizes 200000,1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "engine" / "verify"))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from verify_dataset import pg_connect  # noqa: E402

from migrations_ops.target import TargetConn  # noqa: E402
from migrations_ops.verify import VerifyOptions, verify  # noqa: E402
from tests.conftest import admin_conn  # noqa: E402

OPTIONS = VerifyOptions(integrity_check="off", hash_source=False)
PG_DDL = """CREATE TABLE customers (code text PRIMARY KEY, account_id integer NOT NULL, amount numeric(12, 2),
            score double precision, note text, created_at timestamptz)"""
SQLITE_DDL = """CREATE TABLE customers (code TEXT PRIMARY KEY, account_id INTEGER NOT NULL, amount REAL,
                score REAL, note TEXT, created_at TEXT)"""


def code(i: int) -> str:
    return "K" + hashlib.md5(str(i).encode(), usedforsecurity=False).hexdigest()[:12]


def rows(n: int):
    """The same rows for both sides, generated once per size."""
    for i in range(1, n + 1):
        yield (code(i), i % 1000 + 1, round((i % 100000) / 100.0, 2), i * 0.1, f"note {i}",
               time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_700_000_000 + i)))


def build(target: TargetConn, path: Path, n: int) -> None:
    """``customers`` with ``n`` rows on both sides, identical."""
    lite = sqlite3.connect(path)
    lite.execute(SQLITE_DDL)
    lite.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", rows(n))
    lite.commit()
    lite.close()
    with pg_connect(target) as pg:
        pg.execute(PG_DDL)
        with pg.cursor().copy("COPY customers FROM STDIN") as cp:
            for r in rows(n):
                cp.write_row(r)
        pg.execute("VACUUM ANALYZE customers")


def timed(target: TargetConn, path: Path, runs: int):
    """Median wall time of ``runs`` verifications of ``customers``, and the last report."""
    times, report = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        report = verify(target, path, tables=["customers"], options=OPTIONS)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), report


def plant(target: TargetConn, n: int) -> tuple[str, str, str]:
    """Delete one row, insert one, change one value; return their keys."""
    gone, changed, new = code(n // 3), code(2 * n // 3), "K~planted"
    with pg_connect(target) as pg:
        pg.execute("DELETE FROM customers WHERE code = %s", (gone,))
        pg.execute("INSERT INTO customers VALUES (%s, 1, 1.00, 0.5, 'planted', now())", (new,))
        pg.execute("UPDATE customers SET note = 'changed' WHERE code = %s", (changed,))
    return gone, new, changed


def bench_size(admin: TargetConn, n: int, runs: int) -> dict[str, float]:
    name = f"mop_bench_textkey_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**admin.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = TargetConn(host=admin.host, port=admin.port, dbname=name, user=admin.user, password=admin.password,
                        sslmode=admin.sslmode)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "customers.sqlite"
            build(target, path, n)
            matching, report = timed(target, path, runs)
            assert report.status == "pass", report.problems()
            gone, new, changed = plant(target, n)
            located, report = timed(target, path, runs)
            found = {f.check: f for f in report.table("customers").findings}
            assert found["missing"].samples == (gone,) and found["extra"].samples == (new,)
            assert found["changed"].samples == ({"key": changed, "columns": ["note"]},)
            figures = found["checksum"].figures
        return {"rows": n, "matching": matching, "located": located, "ranges": figures["ranges_compared"],
                "rows_compared": figures["rows_compared"]}
    finally:
        with psycopg.connect(**admin.connect_kwargs("mop-bench"), autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="200000,1000000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    admin = admin_conn()
    print(f"{'rows':>10} {'matching s':>11} {'3 rows located s':>17} {'ratio':>6} {'ranges':>7} {'rows fetched':>13}")
    for n in (int(x) for x in args.sizes.split(",")):
        r = bench_size(admin, n, args.runs)
        print(f"{r['rows']:>10} {r['matching']:>11.2f} {r['located']:>17.2f} {r['located'] / r['matching']:>6.2f} "
              f"{r['ranges']:>7} {r['rows_compared']:>13}", flush=True)


if __name__ == "__main__":
    main()
