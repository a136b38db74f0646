"""Benchmark the lock diagnostics: snapshot time on a busy database, against the naive query.

Builds a throwaway database on the portal's server with ``--idle`` idle
sessions and a chain of ``--blocked`` blocked sessions (one idle-in-transaction
root holding a row lock, an ``ALTER TABLE`` queued behind it, ``SELECT``s queued
behind the ALTER), then times, in the same run:

- ``take_snapshot`` on an open diagnostic connection (summary, tree, three lists,
  one transaction) and with its own connection;
- the tree query alone (``blocking_sessions.sql``);
- the baseline: the naive query calling ``pg_blocking_pids()`` for every session.

Usage: ``.venv/bin/python bench/bench_locks.py [--idle 200] [--blocked 20] [--runs 50] [--write-docs]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from migrations_ops import queries  # noqa: E402
from migrations_ops.locks import take_snapshot  # noqa: E402
from migrations_ops.locks.connection import diag_connection  # noqa: E402
from migrations_ops.locks.snapshot import read_snapshot  # noqa: E402
from migrations_ops.target import TargetConn  # noqa: E402

# What a dashboard polling "who blocks whom" typically runs: every session, and its blockers.
NAIVE_QUERY = """
SELECT a.pid, a.usename, a.application_name, a.state, a.wait_event_type, a.wait_event, a.query,
       a.xact_start, a.query_start, pg_blocking_pids(a.pid) AS blocked_by
FROM pg_stat_activity AS a
"""
SECTION = "## Lock diagnostics"


def admin_target() -> TargetConn:
    """The tests' maintenance superuser (the portal's role may not create databases)."""
    from tests.conftest import admin_conn

    return admin_conn()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and max wall time of ``fn`` in ms, after one warm-up call."""
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), max(samples)


class Load:
    """The sessions of the benchmark: idle ones and a blocked chain."""

    def __init__(self, target: TargetConn, idle: int, blocked: int) -> None:
        self.target, self.conns, self.threads = target, [], []
        kw = target.connect_kwargs("bench-app")
        with ThreadPoolExecutor(4) as pool:
            self.conns += list(pool.map(lambda _: psycopg.connect(**kw, autocommit=True), range(idle)))
        root = psycopg.connect(**kw)
        root.execute("UPDATE t SET v = v + 1 WHERE id = 1")  # idle in transaction from here on
        self.conns.append(root)
        self.root_pid = root.info.backend_pid
        self._queue("ALTER TABLE t ADD COLUMN note text", kw)
        for _ in range(blocked - 1):
            self._queue("SELECT count(*) FROM t", kw)

    def _queue(self, statement: str, kw: dict) -> None:
        conn = psycopg.connect(**kw, autocommit=True)
        self.conns.append(conn)

        def run() -> None:
            try:
                conn.execute(statement)
            except psycopg.Error:
                pass  # terminated at teardown

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)
        deadline = time.monotonic() + 10
        with psycopg.connect(**self.target.connect_kwargs("bench-admin"), autocommit=True) as c:
            while not c.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'", (conn.info.backend_pid,)
            ).fetchone():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{statement!r} did not queue")
                time.sleep(0.02)

    def close(self) -> None:
        for c in self.conns:
            c.close()  # closing the root releases the chain
        for t in self.threads:
            t.join(timeout=10)


def bench(idle: int, blocked: int, runs: int) -> dict[str, object]:
    admin = admin_target()
    with psycopg.connect(**admin.connect_kwargs("bench-admin"), autocommit=True) as c:
        used, maxc = c.execute(
            "SELECT count(*), current_setting('max_connections')::int FROM pg_stat_activity"
        ).fetchone()
        if used + idle + blocked + 1 + 10 > maxc:
            raise SystemExit(f"not enough free connections: {used} used of {maxc}")
        name = f"mopt_bench_{uuid.uuid4().hex[:10]}"
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = replace(admin, dbname=name)
    try:
        with psycopg.connect(**target.connect_kwargs("bench-admin"), autocommit=True) as c:
            c.execute("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)")
            c.execute("INSERT INTO t (id) SELECT generate_series(1, 100)")
        t0 = time.perf_counter()
        load = Load(target, idle, blocked)
        setup_s = time.perf_counter() - t0
        try:
            return measure(target, load, runs) | {"idle": idle, "blocked": blocked, "runs": runs,
                                                   "setup_s": setup_s}
        finally:
            load.close()
    finally:
        with psycopg.connect(**admin.connect_kwargs("bench-admin"), autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def measure(target: TargetConn, load: Load, runs: int) -> dict[str, object]:
    with diag_connection(target) as conn:
        snap = read_snapshot(conn, target.where())
        root = snap.tree.roots[0]
        assert root.pid == load.root_pid, "the root blocker should be the idle-in-transaction session"
        results = {
            "sessions": snap.summary.sessions,
            "connections": snap.summary.connections,
            "root_blocks": root.blocks_transitively,
            "waiting": snap.summary.waiting,
            "snapshot": timed(lambda: read_snapshot(conn, target.where()), runs),
            "tree": timed(lambda: conn.execute(queries.get("blocking_sessions")).fetchall(), runs),
        }
    results["snapshot_connect"] = timed(lambda: take_snapshot(target), max(5, runs // 5))
    with psycopg.connect(**target.connect_kwargs("bench-naive"), autocommit=True) as naive:
        results["naive"] = timed(lambda: naive.execute(NAIVE_QUERY).fetchall(), runs)
    return results


def report(r: dict[str, object]) -> str:
    rows = [
        ("`take_snapshot` on an open connection (summary + tree + 3 lists)", r["snapshot"]),
        ("`take_snapshot` with its own connection (scram auth included)", r["snapshot_connect"]),
        ("tree query alone (`blocking_sessions.sql`)", r["tree"]),
        ("baseline: naive query, `pg_blocking_pids()` for every session", r["naive"]),
    ]
    lines = [
        f"{r['idle']} idle sessions + {r['blocked']} blocked in a chain (root idle in transaction, "
        f"ALTER TABLE behind it, SELECTs behind the ALTER); {r['connections']} connections on the server, "
        f"{r['sessions']} in the database; root blocks {r['root_blocks']}; median and max of {r['runs']} runs "
        f"(snapshot with connect: {max(5, int(r['runs']) // 5)} runs).",
        "",
        "| measure | median ms | max ms |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {med:.2f} | {mx:.2f} |" for label, (med, mx) in rows]
    lines += [
        "",
        f"`pg_blocking_pids()` calls per look: {2 * int(r['waiting'])} for a snapshot (the {r['waiting']} "
        f"waiting sessions, in the summary and in the tree), at least {r['connections']} for the naive query (every "
        "backend). Each call takes all 16 lock-manager partition locks, so on a server that is busy "
        "taking heavyweight locks the calls avoided are the point, more than the poller's own latency.",
    ]
    return "\n".join(lines)


def write_docs(body: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md, leaving the others alone."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"{SECTION}\n\n{body}\n"
    if SECTION in text:
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[nxt:] if nxt != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--idle", type=int, default=200)
    p.add_argument("--blocked", type=int, default=20)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--write-docs", action="store_true", help="print a markdown table and update docs/benchmarks.md")
    a = p.parse_args()
    r = bench(a.idle, a.blocked, a.runs)
    print(report(r))
    print(f"(setup of the sessions: {r['setup_s']:.1f} s)")
    if a.write_docs:
        write_docs(report(r))


if __name__ == "__main__":
    main()
