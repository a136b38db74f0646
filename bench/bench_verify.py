"""Benchmark of the verification engine.

For each size (default 200,000 and 1,000,000 rows of the typed ``events``
table: bigint key, int, numeric(12,2), float8, text, boolean, timestamptz,
jsonb; SQLite holds REAL, ISO text, 0/1 and JSON text with another key order):

1. ``count(*)`` on both sides (warm, median of 3);
2. a full verification of the matching table (``verify(..., tables=["events"])``);
3. the same after one value changed in the target: time to locate it by bisection;
4. a full row-by-row comparison (every row of both sides streamed in key batches
   and compared), the baseline bisection avoids;
5. each side's checksum pass alone (16 ranges): PostgreSQL's, SQLite's in one
   thread, and SQLite's in the two threads (or processes) ``verify()`` uses;

each measured in a fresh child process, so its peak RSS is its own. The checksum
method is the per-type hash (``verify/pghash.py``) when the C extension is built,
else the md5 text checksum (``--md5`` forces it, for comparison).

Usage: .venv/bin/python bench/bench_verify.py [--sizes 200000,1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "engine" / "verify"))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from verify_dataset import build_events, pg_connect  # noqa: E402

from migrations_ops.target import TargetConn, connect  # noqa: E402
from migrations_ops.verify import VerifyOptions, pghash, verify  # noqa: E402
from migrations_ops.verify.checksum import PgSide, SqliteSide, open_sqlite  # noqa: E402
from migrations_ops.verify.run import SourcePool  # noqa: E402
from migrations_ops.verify.schema import load_schema, open_session, split_range  # noqa: E402
from tests.conftest import admin_conn  # noqa: E402

OPTIONS = VerifyOptions(integrity_check="off", hash_source=False,
                        native_hash=os.environ.get("MOP_BENCH_MD5") != "1")


class RssSampler(threading.Thread):
    """Peak RSS of this process and of its whole process tree (the SQLite worker processes), sampled
    from /proc every 20 ms. ``ru_maxrss`` would not do: it survives fork and exec, so a child reports
    at least its parent's peak."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.own = self.tree = 0

    @staticmethod
    def rss_kb(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as f:
                return next((int(x.split()[1]) for x in f if x.startswith("VmRSS:")), 0)
        except OSError:
            return 0

    def descendants(self, root: int) -> list[int]:
        parents: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    parents.setdefault(ppid, []).append(int(d))
                except (OSError, IndexError, ValueError):
                    pass
        out, todo = [], [root]
        while todo:
            kids = parents.get(todo.pop(), [])
            out += kids
            todo += kids
        return out

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.02):
            own = self.rss_kb(me)
            self.own = max(self.own, own)
            self.tree = max(self.tree, own + sum(self.rss_kb(p) for p in self.descendants(me)))


def child(phase: str, target: TargetConn, src: str, rows: int) -> dict:
    """One measured phase; returns seconds, peak RSS and what it found."""
    sampler = RssSampler()
    sampler.start()
    t0 = time.perf_counter()
    out: dict = {}
    if phase == "count":
        with pg_connect(target) as c:
            c.execute("SELECT count(*) FROM events").fetchone()
        lite = sqlite3.connect(src)
        lite.execute("SELECT count(*) FROM events").fetchone()
        lite.close()
    elif phase in ("verify", "locate"):
        report = verify(target, src, tables=["events"], options=OPTIONS)
        f = [x for x in report.all_findings() if x.check == "changed"]
        cs = next(x for x in report.all_findings() if x.check == "checksum")
        out = {"status": report.status, "changed": [list(x.samples) for x in f], **cs.figures}
    elif phase == "rowbyrow":
        out = row_by_row(target, src)
    elif phase in ("pg_pass", "lite_pass", "lite_pass2"):
        out = one_side(target, src, phase)
    out["seconds"] = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out["client_cpu_s"] = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    out["rss_mb"] = sampler.own / 1024
    out["tree_rss_mb"] = sampler.tree / 1024
    return out


def sides(target: TargetConn, src: str) -> tuple[PgSide, SqliteSide, object]:
    conn = connect(target, "mop:bench:sides")
    open_session(conn, 600_000, 2_000)
    table = load_schema(conn, "public").tables["events"]
    cols = [(c.name, c.type) for c in table.columns]
    native = OPTIONS.native_hash and pghash.supported(cols)
    return (PgSide(conn, "public", "events", cols, "id", 600_000, 2_000, native=native),
            SqliteSide(open_sqlite(src), "events", cols, "id", src, native=native), conn)


def one_side(target: TargetConn, src: str, phase: str) -> dict:
    """One side's checksum pass alone, in 16 ranges: PostgreSQL's, SQLite's in this thread, or SQLite's in
    the two threads (native) or processes (md5) that verify() uses."""
    pg, lite, conn = sides(target, src)
    side = pg if phase == "pg_pass" else lite
    lo, hi = pg.bounds()
    ranges = split_range(lo, hi + 1, 16)
    if phase == "lite_pass2":
        pool = SourcePool(2)
        executor = pool.for_rows(hi - lo, lite.native)
        executor.submit(int).result()  # started (processes) before the clock
        t0 = time.perf_counter()
        rows = sum(f.result().rows for f in [executor.submit(lite.summary, a, b) for a, b in ranges])
        elapsed = time.perf_counter() - t0
        pool.close()
        return {"rows": rows, "pass_s": elapsed, "method": "pghash" if lite.native else "md5"}
    t0 = time.perf_counter()
    rows = sum(side.summary(a, b).rows for a, b in ranges)
    return {"rows": rows, "pass_s": time.perf_counter() - t0, "method": "pghash" if side.native else "md5"}


def row_by_row(target: TargetConn, src: str, batch: int = 50_000) -> dict:
    """Stream every row of both sides in key batches, canonical text per column, and compare them all."""
    pg, lite, conn = sides(target, src)
    lo, hi = pg.bounds()
    differ = 0
    with ThreadPoolExecutor(1) as pool:
        for a, b in split_range(lo, hi + 1, -(-(hi + 1 - lo) // batch)):
            fut = pool.submit(lite.rows, a, b)
            t_rows = {r[0]: r[1:] for r in pg.rows(a, b)}  # by key: neither side's order is guaranteed
            s_rows = {r[0]: r[1:] for r in fut.result()}
            differ += sum(1 for k in s_rows.keys() | t_rows.keys() if s_rows.get(k) != t_rows.get(k))
    conn.close()
    return {"differing_rows": differ}


def run_child(phase: str, target: TargetConn, src: str, rows: int) -> dict:
    cmd = [sys.executable, __file__, "--child", phase, "--db", target.dbname, "--src", src, "--rows", str(rows)]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def median(results: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in results)


def bench_size(adm: TargetConn, rows: int, runs: int, tmp: Path) -> dict:
    name = f"mopb_verify_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**adm.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = TargetConn(host=adm.host, port=adm.port, dbname=name, user=adm.user, password=adm.password,
                        sslmode=adm.sslmode)
    src = str(tmp / f"events_{rows}.sqlite")
    try:
        t0 = time.perf_counter()
        build_events(target, Path(src), rows)
        built = time.perf_counter() - t0
        run_child("count", target, src, rows)  # warm caches
        changed_id = rows * 2 // 3
        count, matching, locate, rowbyrow, pg_pass, lite_pass, lite_pass2 = [], [], [], [], [], [], []
        # interleaved, so that the other engineers' load on the shared CPU hits every measure alike
        for _ in range(runs):
            count.append(run_child("count", target, src, rows))
            matching.append(run_child("verify", target, src, rows))
            with pg_connect(target) as c:
                c.execute("UPDATE events SET note = 'changed' WHERE id = %s", (changed_id,))
            locate.append(run_child("locate", target, src, rows))
            rowbyrow.append(run_child("rowbyrow", target, src, rows))
            with pg_connect(target) as c:
                c.execute("UPDATE events SET note = 'note ' || id WHERE id = %s", (changed_id,))
            pg_pass.append(run_child("pg_pass", target, src, rows))
            lite_pass.append(run_child("lite_pass", target, src, rows))
            lite_pass2.append(run_child("lite_pass2", target, src, rows))
        assert all(r["status"] == "pass" for r in matching), matching
        assert all(r["changed"] == [[{"key": changed_id, "columns": ["note"]}]] for r in locate), locate
        assert all(r["differing_rows"] == 1 for r in rowbyrow)
    finally:
        with psycopg.connect(**adm.connect_kwargs("mop-bench"), autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    m, loc, rbr, cnt = median(matching), median(locate), median(rowbyrow), median(count)
    return {
        "rows": rows, "build_s": built, "count_both_s": cnt, "verify_matching_s": m, "ratio_to_count": m / cnt,
        "locate_one_changed_s": loc, "locate_vs_matching": loc / m, "row_by_row_s": rbr,
        "row_by_row_vs_locate": rbr / loc, "ranges_compared": locate[0]["ranges_compared"],
        "rows_compared": locate[0]["rows_compared"],
        "verify_client_cpu_s": median(matching, "client_cpu_s"), "locate_client_cpu_s": median(locate, "client_cpu_s"),
        "row_by_row_client_cpu_s": median(rowbyrow, "client_cpu_s"),
        "pg_pass_s": median(pg_pass, "pass_s"), "sqlite_pass_one_process_s": median(lite_pass, "pass_s"),
        "sqlite_pass_two_workers_s": median(lite_pass2, "pass_s"), "method": matching[0]["method"],
        "pg_pass_client_cpu_s": median(pg_pass, "client_cpu_s"),
        "sqlite_pass_client_cpu_s": median(lite_pass, "client_cpu_s"),
        "tree_rss_mb": max(r["tree_rss_mb"] for r in matching + locate),
        "rss_mb": {"count": max(r["rss_mb"] for r in count), "verify": max(r["rss_mb"] for r in matching),
                   "locate": max(r["rss_mb"] for r in locate), "row_by_row": max(r["rss_mb"] for r in rowbyrow)},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="200000,1000000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child")
    ap.add_argument("--db")
    ap.add_argument("--src")
    ap.add_argument("--rows", type=int)
    a = ap.parse_args()
    adm = admin_conn()
    if a.child:
        target = TargetConn(host=adm.host, port=adm.port, dbname=a.db, user=adm.user, password=adm.password,
                            sslmode=adm.sslmode)
        print(json.dumps(child(a.child, target, a.src, a.rows)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (int(x) for x in a.sizes.split(",")):
            r = bench_size(adm, rows, a.runs, Path(tmp))
            print(f"\n{rows:,} rows (median of {a.runs}, interleaved; build {r['build_s']:.1f} s; load average "
                  f"{os.getloadavg()[0]:.1f})")
            print(f"  count(*) both sides          {r['count_both_s']:8.3f} s")
            print(f"  verify, matching table       {r['verify_matching_s']:8.3f} s   "
                  f"= {r['ratio_to_count']:.1f}x count(*) (goal <= 10x)")
            print(f"  verify, one changed row      {r['locate_one_changed_s']:8.3f} s   "
                  f"= {r['locate_vs_matching']:.2f}x matching (goal < 2x); {r['ranges_compared']} ranges, "
                  f"{r['rows_compared']} rows fetched")
            print(f"  full row-by-row comparison   {r['row_by_row_s']:8.3f} s   "
                  f"= {r['row_by_row_vs_locate']:.1f}x the bisection")
            print(f"  client CPU (s, this process and its workers): verify {r['verify_client_cpu_s']:.2f}, locate "
                  f"{r['locate_client_cpu_s']:.2f}, row-by-row {r['row_by_row_client_cpu_s']:.2f}")
            print(f"  where it goes ({r['method']} checksum): PostgreSQL's pass alone {r['pg_pass_s']:.3f} s "
                  f"({r['pg_pass_s'] / r['count_both_s']:.1f}x count(*)); SQLite's, one thread, "
                  f"{r['sqlite_pass_one_process_s']:.3f} s ({r['sqlite_pass_one_process_s'] / r['count_both_s']:.1f}x"
                  f"), in verify()'s two workers {r['sqlite_pass_two_workers_s']:.3f} s")
            print("  peak RSS (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in r["rss_mb"].items())
                  + f"; verify with its SQLite worker processes {r['tree_rss_mb']:.0f}")
            print("  json: " + json.dumps(r))


if __name__ == "__main__":
    main()
