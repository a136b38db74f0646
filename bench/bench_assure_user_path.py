"""Benchmark a rehearsal as a user gets it: a real worker, ``ops rehearse TARGET head --wait`` interleaved with
the run itself, ``ops upgrade TARGET head --wait`` (A B A B ...), default options.

    .venv/bin/python bench/bench_assure_user_path.py [--runs 3]

What it does:
- a throwaway portal database (migrated), a private Redis database and queue, one Celery worker started as a
  user starts it (``-c 2``);
- two databases of ``examples/billing`` registered with ``ops add-target``: ``bench-reh-dev`` (development: the
  rehearsal server, as the tests' maintenance superuser so it may CREATE DATABASE) and ``bench-reh-stage``
  (staging, empty: at base). The staging policy of this throwaway portal needs no approval, so the upgrade
  starts at once (the run's time is then the run's, not a person's);
- one warm-up round (the worker's first task imports its modules; a spare scratch database gets made), then per
  round: the staging database recreated empty, A the rehearsal, then (after the worker made the next spare) the
  database recreated empty again and B the upgrade.

Printed per round: wall time of each ``ops`` process, and each one's own time on the worker (``started_at`` to
``finished_at`` of the rehearsal and of the run); the ratios rehearsal / run of both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_user_path import PORTAL_DB, _env, _ops, _recreate, _start_worker, _stop  # noqa: E402

EXAMPLE = ROOT / "examples" / "billing"
DEV_DB, STAGE_DB = "mop_bench_reh_dev", "mop_bench_reh_stage"


def _wall(cmd: list[str], env: dict) -> tuple[float, int, str]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc.returncode, (proc.stdout + proc.stderr)[-800:]


def _spare_waiting(timeout: float = 10) -> None:
    """Let the worker finish the rehearsal's clean-up (drop, next spare) before the run is timed."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(os.environ["MOP_BENCH_ADMIN_URL"], autocommit=True) as c:
        while time.monotonic() < deadline:
            if c.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s",
                         ("mop\\_scratch\\_spare\\_%",)).fetchone()[0]:
                return
            time.sleep(0.1)


def one_round(env: dict) -> dict:
    from portal.assure.models import Rehearsal
    from portal.ops.models import Run

    _recreate(STAGE_DB)
    reh_wall, code, out = _wall(_ops("rehearse", "bench-reh-stage", "head", "--wait"), env)
    reh = Rehearsal.objects.order_by("-pk").first()
    assert code == 0 and reh is not None and reh.status == "passed", out
    _spare_waiting()
    _recreate(STAGE_DB)
    run_wall, code, out = _wall(_ops("upgrade", "bench-reh-stage", "head", "--wait"), env)
    run = Run.objects.filter(target__name="bench-reh-stage").order_by("-pk").first()
    assert code == 0 and run is not None and run.status == "succeeded", out
    return {"rehearse_wall": reh_wall, "run_wall": run_wall,
            "rehearse_worker": (reh.finished_at - reh.started_at).total_seconds(),
            "run_worker": (run.finished_at - run.started_at).total_seconds(),
            "clone": reh.report.get("clone_seconds", 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mop-bench-reh-"))
    _env(f"mop-bench-{uuid.uuid4().hex[:8]}", folder)
    _recreate(PORTAL_DB)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from portal.change.models import Policy

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", uuid.uuid4().hex)
    user.groups.add(*Group.objects.all())
    Policy.objects.filter(environment="staging").update(approval_from=Policy.ApprovalFrom.NEVER)
    env = {**os.environ, "BENCH_DEV_URL": _recreate(DEV_DB).replace("postgres://", "postgresql://", 1),
           "BENCH_STAGE_URL": _recreate(STAGE_DB).replace("postgres://", "postgresql://", 1)}
    for name, var, environment in (("bench-reh-dev", "BENCH_DEV_URL", "development"),
                                   ("bench-reh-stage", "BENCH_STAGE_URL", "staging")):
        subprocess.run(_ops("add-target", name, "--dsn-env", var, "--project", str(EXAMPLE), "--environment",
                            environment), cwd=ROOT, env=env, check=True, capture_output=True)
    worker = _start_worker("benchreh", folder / "worker.log")
    try:
        one_round(env)  # warm-up, not counted
        rows = [one_round(env) for _ in range(a.runs)]
    finally:
        _stop(worker)
    print("| round | rehearse --wait wall s | upgrade --wait wall s | x (wall) | rehearsal on worker s "
          "(clone s) | run on worker s | x (worker) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for i, r in enumerate(rows, 1):
        print(f"| {i} | {r['rehearse_wall']:.2f} | {r['run_wall']:.2f} | {r['rehearse_wall'] / r['run_wall']:.2f} | "
              f"{r['rehearse_worker']:.3f} ({r['clone']:.3f}) | {r['run_worker']:.3f} | "
              f"{r['rehearse_worker'] / r['run_worker']:.2f} |")
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"| median | {med['rehearse_wall']:.2f} | {med['run_wall']:.2f} | {med['rehearse_wall'] / med['run_wall']:.2f} "
          f"| {med['rehearse_worker']:.3f} ({med['clone']:.3f}) | {med['run_worker']:.3f} | "
          f"{med['rehearse_worker'] / med['run_worker']:.2f} |")
    _drop(DEV_DB, STAGE_DB, PORTAL_DB)


def _drop(*names: str) -> None:
    import psycopg
    from psycopg import sql

    from migrations_ops.scratch.databases import SCRATCH_PREFIX, SPARE

    with psycopg.connect(os.environ["MOP_BENCH_ADMIN_URL"], autocommit=True) as c:
        spares = [r[0] for r in c.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                          (f"{SCRATCH_PREFIX}{SPARE}_%".replace("_", "\\_"),))]
        for name in [*names, *spares]:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
