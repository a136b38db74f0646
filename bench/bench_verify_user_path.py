"""A whole-database verification as a user gets it, beside the ``count(*)`` of every table on both sides.

    .venv/bin/python bench/bench_verify_user_path.py [--data billing|orders|both] [--runs 3]
        [--transactions 1000000] [--items 600000] [--folder DIR] [--no-in-process]

What it does, in one go on this machine (set-up shared with ``bench_user_path.py``):
- a throwaway portal database (migrated), a private Redis database and queue, one Celery worker
  (``-c 2``) started as a user starts it;
- per data set: the file generated (billing: bench/gen_billing_sqlite.py, clean variant; orders:
  bench/gen_orders_sqlite.py), the target created with the typed schema and registered with
  ``ops add-target``, then ``ops copy TARGET --sqlite FILE --wait`` (default options; the verification
  the copy queues itself is waited for);
- per round, interleaved: the baseline (``count(*)`` of every table, SQLite then PostgreSQL, from this
  process), ``manage.py ops verify TARGET --sqlite FILE --wait`` (default options: the user path, whole
  process timed, and the worker's own time from the run row), the baseline again, and, unless
  ``--no-in-process``, the engine's ``verify()`` called in this process with default options
  (labelled in-process);
- the load average before and after each round.

Prints one JSON line per measurement and a table: ours and the baseline side by side, and their ratio
(the goal: within 10x). Everything it creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_user_path  # noqa: E402
from bench_user_path import (  # noqa: E402
    Sampler,
    _admin_exec,
    _dataset,
    _env,
    _exists_target,
    _ops,
    _recreate,
    _start_worker,
    _stop,
    _timed,
    _wait_verify_of_copy,
)


def _counts_seconds(sqlite_path: Path, pg_url: str, tables: tuple[str, ...]) -> tuple[float, int]:
    """Wall seconds of ``count(*)`` of every table on both sides (SQLite, then PostgreSQL), and the rows counted."""
    import sqlite3

    import psycopg
    from psycopg import sql

    t0 = time.perf_counter()
    total = 0
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    for t in tables:
        total += src.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t)).as_string()).fetchone()[0]
    src.close()
    with psycopg.connect(pg_url) as c:
        for t in tables:
            c.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()
    return time.perf_counter() - t0, total


def _drop(*names: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(os.environ["MOP_BENCH_ADMIN_URL"], autocommit=True) as c:
        for n in names:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(n)))


PREFIX = f"mop_bench_verify_{uuid.uuid4().hex[:6]}"
"""Databases of this run (another engineer's bench on the same server never meets them)."""


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _in_process(url: str, path: Path) -> float:
    from migrations_ops.target import TargetConn
    from migrations_ops.verify import verify

    t0 = time.perf_counter()
    verify(TargetConn.from_url(url.replace("postgres://", "postgresql://", 1)), path)
    return time.perf_counter() - t0


def bench(kind: str, a, folder: Path, workers: list) -> list[dict]:
    from portal.ops.models import Run

    path, ddl, tables = _dataset(kind, folder, a)
    db = f"{PREFIX}_{kind}"
    url = _recreate(db, ddl)
    name = f"bench-{kind}"
    env = {**os.environ, "BENCH_TARGET_URL": url.replace("postgres://", "postgresql://", 1)}
    if not _exists_target(name):
        import subprocess

        subprocess.run(_ops("add-target", name, "--dsn-env", "BENCH_TARGET_URL", "--project",
                            str(ROOT / "examples" / "billing")), cwd=ROOT, env=env, check=True, capture_output=True)
    s = Sampler({f"worker#{j}": w.pid for j, w in enumerate(workers)})
    s.start()
    wall, code, out, _ = _timed(_ops("copy", name, "--sqlite", path.name, "--wait"), s, "ops")
    s.finish()
    copy = Run.objects.filter(operation=Run.Operation.COPY, target__name=name).order_by("-pk").first()
    if copy is None or copy.status != "succeeded":
        raise RuntimeError(f"the copy did not succeed (exit {code}):\n{out}")
    _wait_verify_of_copy(copy.pk)
    _admin_exec("VACUUM ANALYZE", db=db)
    rows = []
    for i in range(a.runs):
        load0 = _load()
        before, counted = _counts_seconds(path, url, tables)
        s = Sampler({f"worker#{j}": w.pid for j, w in enumerate(workers)})
        s.start()
        wall, code, out, cpu = _timed(_ops("verify", name, "--sqlite", path.name, "--wait"), s, "ops")
        figures = s.finish()
        v = Run.objects.filter(operation=Run.Operation.VERIFY, target__name=name).order_by("-pk").first()
        worker_s = (v.finished_at - v.started_at).total_seconds()
        after, _ = _counts_seconds(path, url, tables)
        counts = (before + after) / 2
        inproc = _in_process(url, path) if a.in_process else None
        after2, _ = _counts_seconds(path, url, tables) if a.in_process else (None, 0)
        row = {"data": kind, "round": i, "rows_counted": counted, "count_star_both_sides_s": round(counts, 3),
               "count_star_samples_s": [round(x, 3) for x in (before, after, after2) if x is not None],
               "user_path_wall_s": round(wall, 2), "worker_s": round(worker_s, 2), "exit": code,
               "status": v.status, "x_count_wall": round(wall / counts, 1),
               "x_count_worker": round(worker_s / counts, 1), "ops_cli_cpu_s": round(cpu, 2),
               "worker_cpu_s": round(sum(p["cpu_s"] for p in figures["processes"] if p["who"].startswith("worker")), 2),
               "server_cpu_s": figures["server_cpu_s"],
               "peak_rss_mb": max((p["peak_rss_mb"] for p in figures["processes"]), default=0),
               "load_before_after": [load0, _load()]}
        if inproc is not None:
            base = (before + after + after2) / 3
            row.update({"in_process_s": round(inproc, 2), "x_count_in_process": round(inproc / base, 1)})
        print(json.dumps(row), flush=True)
        if code not in (0, 4):
            print(out, flush=True)
        rows.append(row)
    return rows


def table(rows: list[dict]) -> None:
    print("\n| data | round | rows counted | count(*) both sides s | user path: `ops verify --wait` wall s / worker s "
          "| x count(*) wall / worker | in-process `verify()` s | x count(*) in-process | status | load before / after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        print(f"| {r['data']} | {r['round']} | {r['rows_counted']} | {r['count_star_both_sides_s']} | "
              f"{r['user_path_wall_s']} / {r['worker_s']} | {r['x_count_wall']} / {r['x_count_worker']} | "
              f"{r.get('in_process_s', '-')} | {r.get('x_count_in_process', '-')} | {r['status']} | "
              f"{r['load_before_after'][0]} / {r['load_before_after'][1]} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("billing", "orders", "both"), default="both")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=600_000)
    ap.add_argument("--folder", default=None, help="where the generated files are kept (default: a temporary one)")
    ap.add_argument("--no-in-process", dest="in_process", action="store_false")
    a = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="mop-bench-verify-")
    folder = Path(a.folder) if a.folder else Path(tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    bench_user_path.PORTAL_DB = f"{PREFIX}_portal"
    _env(f"mop-bench-{uuid.uuid4().hex[:8]}", folder)
    _recreate(bench_user_path.PORTAL_DB)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", uuid.uuid4().hex)
    for g in Group.objects.all():
        user.groups.add(g)
    workers = [_start_worker("bench1", folder / "worker1.log")]
    rows: list[dict] = []
    try:
        for kind in (("billing", "orders") if a.data == "both" else (a.data,)):
            rows += bench(kind, a, folder, workers)
    finally:
        for w in workers:
            _stop(w)
        from django.db import connections

        connections.close_all()
        _drop(bench_user_path.PORTAL_DB, f"{PREFIX}_billing", f"{PREFIX}_orders")
        tmp.cleanup()
    table(rows)


if __name__ == "__main__":
    main()
