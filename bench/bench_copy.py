"""Benchmark the SQLite -> PostgreSQL copy against pgloader, raw COPY and row-by-row INSERTs.

    python bench/bench_copy.py [--transactions 1000000] [--runs 3] [--orm-rows 100000] [--workers 2]

Every method loads the same typed billing schema (bench/gen_billing_sqlite.py:
TYPED_TARGET_DDL), recreated empty before each load. Each method runs in a
child process whose memory is sampled from /proc.

- portal (nasty file): ``copy_database`` with conversions and rejects on, on
  the file with planted invalid values and epoch dates, ``defer_constraints``
  (keys and indexes built after the load, 2 connections).
- portal (clean file): the same on the clean variant.
- portal, keys kept: the nasty file with PK/UNIQUE present during the load
  (``drop_secondary_indexes`` only), as before ``defer_constraints`` existed.
- pgloader (clean file): ``data only, prefetch rows = 10000``. pgloader cannot
  load the nasty file (it drops a whole table on its first bad value), so it
  gets the clean variant: its best case.
- raw COPY from CSV: the rows as the portal loaded them, exported once to
  CSV, loaded with COPY into the tables without foreign keys (the ceiling
  with keys present).
- raw COPY from CSV, bare tables: the same COPY into tables without keys or
  indexes, which are then built as the portal builds them (2 connections,
  ``maintenance_work_mem`` 256MB, no parallel maintenance workers): the server-side bound of ``defer_constraints``,
  with no conversion at all.
- ORM-style: one INSERT per row (psycopg, commit every 1000) on ``--orm-rows``
  transactions, extrapolated.

Prints one JSON line per run and a table of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gen_billing_sqlite import TABLES, TYPED_TARGET_DDL, generate  # noqa: E402

from migrations_ops.target import TargetConn  # noqa: E402

PORTAL_CHILD = """
import sys, json
from migrations_ops.copy import CopyOptions, copy_database
from migrations_ops.target import TargetConn
t = TargetConn.from_url(sys.argv[2])
s = copy_database(sys.argv[1], t, CopyOptions(drop_secondary_indexes=True, workers=int(sys.argv[3]),
                  range_rows=int(sys.argv[4]), defer_constraints=sys.argv[6] == "defer"), copy_id=sys.argv[5])
print(json.dumps({"imported": s.rows_imported, "rejected": s.rows_rejected, "phases": dict(s.phases)}))
"""

CSV_CHILD = """
import sys, psycopg
from psycopg import sql
with psycopg.connect(sys.argv[1]) as c:
    for table in sys.argv[3:]:
        with c.cursor().copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(table))) as cp, \\
                open(f"{sys.argv[2]}/{table}.csv", "rb") as f:
            while chunk := f.read(1 << 20):
                cp.write(chunk)
"""

BARE_CSV_CHILD = """
import json, sys, time, threading, psycopg
from psycopg import sql
ddl = json.load(open(sys.argv[3]))
t0 = time.monotonic()
with psycopg.connect(sys.argv[1]) as c:
    for table in ddl["tables"]:
        with c.cursor().copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(table))) as cp, \\
                open(f"{sys.argv[2]}/{table}.csv", "rb") as f:
            while chunk := f.read(1 << 20):
                cp.write(chunk)
t1 = time.monotonic()
todo = list(ddl["indexes"])
def work():
    with psycopg.connect(sys.argv[1], autocommit=True) as c:
        c.execute("SET maintenance_work_mem = '256MB'")
        c.execute("SET max_parallel_maintenance_workers = 0")
        while True:
            try:
                stmt = todo.pop(0)
            except IndexError:
                return
            c.execute(stmt)
threads = [threading.Thread(target=work) for _ in range(2)]
[th.start() for th in threads]
[th.join() for th in threads]
with psycopg.connect(sys.argv[1], autocommit=True) as c:
    for stmt in ddl["constraints"]:
        c.execute(stmt)
print(json.dumps({"copy_s": round(t1 - t0, 2), "build_s": round(time.monotonic() - t1, 2)}))
"""

ORM_CHILD = """
import sqlite3, sys, psycopg
src = sqlite3.connect(sys.argv[2])
rows = src.execute("SELECT id, transaction_id, user_id, type, amount, description, metadata, created_at "
                   "FROM transactions ORDER BY id LIMIT ?", (int(sys.argv[3]),))
with psycopg.connect(sys.argv[1]) as c:
    for i, r in enumerate(rows, 1):
        c.execute("INSERT INTO transactions (id, transaction_id, user_id, type, amount, description, metadata, "
                  "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", r)
        if i % 1000 == 0:
            c.commit()
"""


def url(t: TargetConn) -> str:
    return (f"postgresql://{urllib.parse.quote(t.user)}:{urllib.parse.quote(t.password)}@{t.host}:{t.port}/"
            f"{urllib.parse.quote(t.dbname)}")


SERVER_TAG = ""
"""The bench database's name: PostgreSQL backends serving it show it in their command line."""
TICK = os.sysconf("SC_CLK_TCK")


def _scan() -> tuple[dict[int, list[int]], dict[int, int]]:
    """From /proc: children per parent pid, and CPU ticks (user + system) of the backends of SERVER_TAG."""
    parents: dict[int, list[int]] = {}
    server: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
                parents.setdefault(int(fields[1]), []).append(int(d))
                if SERVER_TAG and SERVER_TAG.encode() in Path(f"/proc/{d}/cmdline").read_bytes():
                    server[int(d)] = int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
    return parents, server


def _tree(root: int, parents: dict[int, list[int]]) -> list[int]:
    """The pid and all its descendants."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += parents.get(pid, [])
    return out


def _machine_busy_ticks() -> int:
    """CPU ticks spent in non-idle states by the whole machine (first line of /proc/stat)."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(v) - v[3] - v[4]


def _mem_kb(pid: int) -> tuple[int, int]:
    """(VmHWM, VmRSS) of a process in kB; VmHWM restarts at exec, unlike ru_maxrss."""
    hwm = rss = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    except OSError:
        pass
    return hwm, rss


def run_child(cmd: list[str]) -> tuple[float, int, int, str, dict[str, float]]:
    """Run a child; return wall seconds, peak RSS of its largest process and of its whole tree (MB), stdout,
    and CPU seconds: the child's tree (rusage), the bench database's backends (sampled), and everything
    else the machine ran meanwhile (other engineers' work included), with the 1-minute load at the end.

    /proc is sampled every 50 ms (the worker processes a copy spawns included).
    """
    t0 = time.monotonic()
    busy0 = _machine_busy_ticks()
    peak_one = peak_tree = 0
    server: dict[int, int] = {}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, "PYTHONPATH": str(ROOT)})
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            parents, backends = _scan()
            server.update(backends)
            mem = [_mem_kb(p) for p in _tree(proc.pid, parents)]
            peak_one = max([peak_one] + [h for h, _ in mem])
            peak_tree = max(peak_tree, sum(r for _, r in mem))
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - t0
        busy = (_machine_busy_ticks() - busy0) / TICK
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {err.read().decode(errors='replace')[-2000:]}")
    client = usage.ru_utime + usage.ru_stime
    srv = sum(server.values()) / TICK
    cpu = {"client_cpu_s": round(client, 2), "server_cpu_s": round(srv, 2),
           "others_cpu_s": round(max(0.0, busy - client - srv), 2), "load1": float(Path("/proc/loadavg").read_text().split()[0])}
    return seconds, peak_one // 1024, peak_tree // 1024, text, cpu


def reset(t: TargetConn, drop_fks: bool = False, bare: Path | None = None) -> None:
    """Recreate the typed schema empty, drop the copy state; optionally drop FKs (raw COPY ceiling) or make
    the tables bare (no FK, key or index), saving to ``bare`` the statements that build keys and indexes."""
    with psycopg.connect(url(t), autocommit=True) as c:
        c.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, TABLES))))
        c.execute("DROP SCHEMA IF EXISTS mop CASCADE")
        c.execute(TYPED_TARGET_DDL)  # type: ignore[arg-type]
        if drop_fks or bare:
            for table, name in c.execute("SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f'"
                                         " AND connamespace = 'public'::regnamespace").fetchall():
                c.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(name)))
        if bare:
            keys = c.execute("SELECT conrelid::regclass::text, conname, contype, pg_get_indexdef(conindid) FROM pg_constraint"
                             " WHERE contype IN ('p', 'u') AND connamespace = 'public'::regnamespace").fetchall()
            plain = c.execute("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i"
                              " JOIN pg_class r ON r.oid = i.indrelid WHERE r.relnamespace = 'public'::regnamespace"
                              " AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid)").fetchall()
            cons = [sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} USING INDEX {}").format(
                sql.Identifier(tb), sql.Identifier(n), sql.SQL("PRIMARY KEY" if k == "p" else "UNIQUE"),
                sql.Identifier(n)).as_string(c) for tb, n, k, _ in keys]
            bare.write_text(json.dumps({"tables": list(TABLES), "indexes": [d for *_, d in keys] + [d for _, d in plain],
                                        "constraints": cons}))
            for tb, n, _, _ in keys:
                c.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(tb), sql.Identifier(n)))
            for n, _ in plain:
                c.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(n)))
        c.execute("CHECKPOINT")


def count_rows(t: TargetConn) -> int:
    with psycopg.connect(url(t)) as c:
        return sum(c.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(x))).fetchone()[0] for x in TABLES)


def main() -> None:
    ap = argparse.ArgumentParser(description="SQLite -> PostgreSQL copy benchmark")
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--orm-rows", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--range-rows", type=int, default=250_000)
    ap.add_argument("--workdir", default="/tmp/mop_bench")
    a = ap.parse_args()
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind in ("nasty", "clean"):
        files[kind] = work / f"billing_{kind}_{a.transactions}.sqlite"
        if not files[kind].exists():
            m = generate(files[kind], a.transactions, seed=0, clean=kind == "clean")
            print(json.dumps({"generated": str(files[kind]), "rows": m.total_rows, "rejects": len(m.rejects)}), flush=True)

    from tests.conftest import admin_conn

    admin = admin_conn()  # the maintenance superuser: the portal's role may not create databases
    dbname = f"mop_bench_{os.getpid()}"
    with psycopg.connect(url(admin), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    t = TargetConn(admin.host, dbname, admin.user, admin.password, admin.port, admin.sslmode)
    global SERVER_TAG
    SERVER_TAG = dbname
    try:
        with psycopg.connect(url(t), autocommit=True) as c:
            c.execute(TYPED_TARGET_DDL)  # type: ignore[arg-type]
        results = bench_all(a, t, files, work)
    finally:
        with psycopg.connect(url(admin), autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
    report(results)


def bench_all(a: argparse.Namespace, t: TargetConn, files: dict[str, Path], work: Path) -> dict[str, list[dict]]:
    py = sys.executable
    load = work / "pgloader.load"
    load.write_text(f"LOAD DATABASE FROM sqlite://{files['clean']} INTO {url(t)}\n"
                    "WITH data only, prefetch rows = 10000;\n")
    csv_dir = work / f"csv_{a.transactions}"
    results: dict[str, list[dict]] = {}
    cpu: dict[str, float] = {}

    def record(name: str, seconds: float, rss: tuple[int, int], rows: int, extra: dict | None = None) -> None:
        row = {"method": name, "seconds": round(seconds, 2), "rows": rows, "rows_per_s": round(rows / seconds),
               "peak_rss_mb": rss[0], "peak_tree_rss_mb": rss[1], **cpu, **(extra or {})}
        results.setdefault(name, []).append(row)
        print(json.dumps(row), flush=True)

    bare_ddl = work / "bare_ddl.json"
    for run in range(a.runs):
        for kind, mode in (("nasty", "defer"), ("clean", "defer"), ("nasty", "keep")):
            reset(t)
            secs, one, tree, out, cpu = run_child([py, "-c", PORTAL_CHILD, str(files[kind]), url(t), str(a.workers),
                                              str(a.range_rows), f"bench{run}{kind}{mode}", mode])
            info = json.loads(out.strip().splitlines()[-1])
            label = "defer_constraints" if mode == "defer" else "keys kept during load"
            record(f"portal ({kind} file, {a.workers} workers, {label})", secs, (one, tree),
                   info["imported"] + info["rejected"],
                   {"imported": info["imported"], "rejected": info["rejected"],
                    "phases": {k: round(v, 2) for k, v in info["phases"].items()}})
            if kind == "clean" and not csv_dir.exists():
                export_csv(t, csv_dir)
        reset(t)
        secs, one, tree, out, cpu = run_child(["pgloader", "--quiet", str(load)])
        record("pgloader (clean file)", secs, (one, tree), count_rows(t))
        reset(t, drop_fks=True)
        secs, one, tree, _, cpu = run_child([py, "-c", CSV_CHILD, url(t), str(csv_dir), *TABLES])
        record("raw COPY from CSV (no FKs)", secs, (one, tree), count_rows(t))
        reset(t, bare=bare_ddl)
        secs, one, tree, out, cpu = run_child([py, "-c", BARE_CSV_CHILD, url(t), str(csv_dir), str(bare_ddl)])
        record("raw COPY from CSV, bare tables, keys built after", secs, (one, tree), count_rows(t),
               json.loads(out.strip().splitlines()[-1]))
    reset(t)
    with psycopg.connect(url(t), autocommit=True) as c:
        c.execute("ALTER TABLE transactions DROP CONSTRAINT transactions_user_id_fkey")
    secs, one, tree, _, cpu = run_child([py, "-c", ORM_CHILD, url(t), str(files["clean"]), str(a.orm_rows)])
    record("one INSERT per row (ORM-style)", secs, (one, tree), a.orm_rows,
           {"extrapolated_seconds_for_all": round(secs / a.orm_rows * count_source_rows(files["clean"]))})
    return results


def count_source_rows(path: Path) -> int:
    import sqlite3

    c = sqlite3.connect(path)
    n = sum(c.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(x)).as_string()).fetchone()[0]
            for x in TABLES)
    c.close()
    return n


def export_csv(t: TargetConn, csv_dir: Path) -> None:
    csv_dir.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(url(t)) as c:
        for table in TABLES:
            with open(csv_dir / f"{table}.csv", "wb") as f, c.cursor().copy(
                    sql.SQL("COPY {} TO STDOUT (FORMAT csv)").format(sql.Identifier(table))) as cp:
                for chunk in cp:
                    f.write(chunk)


def report(results: dict[str, list[dict]]) -> None:
    med = {name: {"rows_per_s": statistics.median(r["rows_per_s"] for r in runs),
                  "seconds": statistics.median(r["seconds"] for r in runs),
                  "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                  "peak_tree_rss_mb": max(r["peak_tree_rss_mb"] for r in runs), "runs": len(runs),
                  **{k: statistics.median(r[k] for r in runs) for k in ("client_cpu_s", "server_cpu_s", "others_cpu_s")}}
           for name, runs in results.items()}
    base = next((v["rows_per_s"] for k, v in med.items() if k.startswith("pgloader")), None)
    print(f"\n{'method':<60} {'runs':>4} {'median s':>9} {'rows/s':>10} {'RSS MB (1 proc / all)':>22} {'x pgloader':>10}"
          f" {'CPU s client / server / others':>31}")
    for name, v in med.items():
        ratio = f"{v['rows_per_s'] / base:.2f}" if base else "-"
        mem = f"{v['peak_rss_mb']} / {v['peak_tree_rss_mb']}"
        cpu = f"{v['client_cpu_s']:.1f} / {v['server_cpu_s']:.1f} / {v['others_cpu_s']:.1f}"
        print(f"{name:<60} {v['runs']:>4} {v['seconds']:>9.2f} {v['rows_per_s']:>10.0f} {mem:>22} {ratio:>10} {cpu:>31}")
    print(json.dumps({"medians": med}))


if __name__ == "__main__":
    main()
