"""Benchmark: queue-to-start latency of a run on an idle real Celery worker, and a full portal upgrade.

What it does, all in one go on this machine:
- creates a throwaway *portal* database (``mop_bench_queue_portal``, migrated) and a private Redis
  database and queue, and starts one ``celery -A portal worker`` on them (as tests/portal/conftest.py);
- baseline: N round trips of a bare Celery no-op task (``celery.accumulate``) on the same broker and
  worker: publish -> result back;
- portal: N small runs one after another (a one-revision project, upgrade head / downgrade base
  alternately, each waiting for the previous to end, so the worker is idle when the next is queued),
  measuring ``run.created_at -> run.started_at`` (the row's insert to the worker's claim) and
  ``on_commit -> claim`` (the ``transaction.on_commit`` enqueue to the claim);
- the full upgrade of examples/billing from base to head through the worker (``schedule_run`` called
  -> ``finished_at`` of a succeeded run) against ``alembic upgrade head`` (CLI subprocess) on the same
  database, recreated before every sample.

Run: ``.venv/bin/python bench/bench_queue_latency.py [--runs 30] [--upgrades 5]``; creates its databases
as the tests' maintenance superuser (``tests.conftest.admin_url``) and needs REDIS_URL, read from .env. Everything it
creates is dropped at the end (the Redis database used is flushed).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PORTAL_DB = "mop_bench_queue_portal"
TARGET_DB = "mop_bench_queue_small"
BILLING_DB = "mop_bench_queue_billing"
REDIS_DB = os.environ.get("MOP_BENCH_REDIS_DB", "13")
SMALL_REVISION = '''"""create bench_t

Revision ID: q1
"""
import sqlalchemy as sa
from alembic import op

revision = "q1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("bench_t", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("bench_t")
'''


def _with_db(url: str, db: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{db}"))


def _env() -> None:
    """Read .env, then point this process at the bench portal database, Redis DB and queue."""
    import environ

    from tests.conftest import admin_url

    environ.Env.read_env(ROOT / ".env", overwrite=False)
    os.environ["MOP_BENCH_ADMIN_URL"] = admin_url()  # the maintenance superuser: creates the bench databases
    os.environ["DATABASE_URL"] = _with_db(os.environ["DATABASE_URL"], PORTAL_DB)
    os.environ["REDIS_URL"] = _with_db(os.environ["REDIS_URL"], REDIS_DB)
    os.environ.pop("CELERY_RESULT_BACKEND", None)
    os.environ["MOP_CELERY_QUEUE"] = f"mop-bench-{uuid.uuid4().hex[:8]}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def _admin():
    from migrations_ops.target import TargetConn

    return TargetConn.from_url(os.environ["MOP_BENCH_ADMIN_URL"].replace("postgres://", "postgresql://", 1))


def _recreate(name: str):
    import dataclasses

    import psycopg
    from psycopg import sql

    a = _admin()
    with psycopg.connect(**a.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return dataclasses.replace(a, dbname=name)


def _drop(*names: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(**_admin().connect_kwargs("mop-bench"), autocommit=True) as c:
        for name in names:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _start_worker(log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "MOP_APPLICATION_NAME": "mop-worker", "PYTHONUNBUFFERED": "1"}
    start = log_path.stat().st_size if log_path.exists() else 0  # the log is appended to: read this start's lines
    log = open(log_path, "ab")  # noqa: SIM115 - the worker writes to it until it stops
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "celery"), "-A", "portal", "worker", "-Q", os.environ["MOP_CELERY_QUEUE"],
         "-c", "2", "-l", "info", "-n", f"bench-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while " ready." not in log_path.read_bytes()[start:].decode(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return proc


def _stop_worker(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _stats(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    return statistics.median(ordered), p95


def _wait(run, timeout: float = 120, poll: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if not run.is_active:
            return run
        time.sleep(poll)
    raise RuntimeError(f"run #{run.pk} still {run.status} after {timeout} s")


def baseline(n: int) -> list[float]:
    """Round trips of a bare no-op task (celery.accumulate) on the same broker and worker, in ms."""
    from portal.celery import app

    out = []
    for _ in range(n + 2):
        t0 = time.perf_counter()
        app.send_task("celery.accumulate", args=(1,), ignore_result=False).get(timeout=30)
        out.append((time.perf_counter() - t0) * 1000)
    return out[2:]  # the first ones open the broker and result connections


def small_runs(n: int, target) -> tuple[list[float], list[float]]:
    """created_at -> started_at and on_commit -> claim of n small runs, in ms."""
    from portal.ops import dispatch, services

    enqueued: dict[int, float] = {}
    original = dispatch.send_run

    def timed_enqueue(run) -> None:
        enqueued[run.pk] = time.time()
        original(run)

    dispatch.send_run = timed_enqueue
    created, committed = [], []
    try:
        for i in range(n + 2):
            op, rev = ("upgrade", "head") if i % 2 == 0 else ("downgrade", "base")
            run = services.schedule_run(target=target, operation=op, revision=rev, actor="bench",
                                        actor_kind="system", confirm_name=target.name)
            run = _wait(run)
            if run.status != "succeeded":
                raise RuntimeError(f"run #{run.pk} {run.status}: {run.error}")
            if i >= 2:  # the first two warm the worker's imports and connections
                created.append((run.started_at - run.created_at).total_seconds() * 1000)
                committed.append((run.started_at.timestamp() - enqueued[run.pk]) * 1000)
    finally:
        dispatch.send_run = original
    return created, committed


def full_upgrades(n: int, target) -> tuple[list[float], list[float], list[float]]:
    """billing base -> head: through the worker (schedule -> succeeded; and the worker's own part) vs the CLI."""
    from migrations_ops.target import TargetConn
    from portal.ops import services

    def url(t: TargetConn) -> str:
        q = urllib.parse.quote
        return f"postgresql://{q(t.user, safe='')}:{q(t.password, safe='')}@{t.host}:{t.port}/{t.dbname}"

    portal, worker_part, cli = [], [], []
    for i in range(n + 1):
        _recreate(BILLING_DB)
        t0 = time.time()
        run = _wait(services.schedule_run(target=target, operation="upgrade", revision="head", actor="bench",
                                          actor_kind="system"))
        if run.status != "succeeded":
            raise RuntimeError(f"billing run #{run.pk} {run.status}: {run.error}")
        conn = _recreate(BILLING_DB)
        c0 = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "alembic"), "-c", str(ROOT / "examples/billing/alembic.ini"),
                        "upgrade", "head"], env={**os.environ, "BILLING_DATABASE_URL": url(conn)}, check=True,
                       cwd=ROOT, capture_output=True)
        c1 = time.perf_counter()
        if i >= 1:  # the first one warms the worker (revision imports)
            portal.append((run.finished_at.timestamp() - t0) * 1000)
            worker_part.append((run.finished_at - run.started_at).total_seconds() * 1000)
            cli.append((c1 - c0) * 1000)
    return portal, worker_part, cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="small runs and no-op round trips")
    parser.add_argument("--upgrades", type=int, default=5, help="billing upgrades (and CLI upgrades)")
    args = parser.parse_args()
    _env()
    _recreate(PORTAL_DB)
    import django

    django.setup()
    from django.core.management import call_command

    from migrations_ops.target import TargetConn
    from portal.ops.models import AlembicProject, Target

    call_command("migrate", verbosity=0)
    worker = None
    try:
        with tempfile.TemporaryDirectory(prefix="mop-bench-") as tmp:
            project = Path(tmp) / "small"
            (project / "versions").mkdir(parents=True)
            (project / "env.py").write_text("")
            (project / "versions" / "q1_create_bench_t.py").write_text(SMALL_REVISION)
            worker = _start_worker(Path(tmp) / "worker.log")

            def target(name: str, location: Path, conn: TargetConn) -> Target:
                p = AlembicProject.objects.create(name=name, location=str(location))
                t = Target(name=name, project=p, host=conn.host, port=conn.port, dbname=conn.dbname,
                           user=conn.user, sslmode=conn.sslmode)
                t.set_password(conn.password)
                t.save()
                return t

            small = target("bench-small", project, _recreate(TARGET_DB))
            billing = target("bench-billing", ROOT / "examples" / "billing", _recreate(BILLING_DB))

            base = baseline(args.runs)
            created, committed = small_runs(args.runs, small)
            portal, worker_part, cli = full_upgrades(args.upgrades, billing)
    finally:
        if worker is not None:
            _stop_worker(worker)
        from django.db import connections

        connections.close_all()
        _drop(PORTAL_DB, TARGET_DB, BILLING_DB)
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    print(f"idle worker, {args.runs} samples each (ms)        median      p95")
    for name, samples in (("Celery no-op round trip (baseline)", base),
                          ("run created_at -> started_at", created),
                          ("run on_commit -> claim", committed)):
        med, p95 = _stats(samples)
        print(f"  {name:40s} {med:8.1f} {p95:8.1f}")
    print(f"examples/billing base -> head, {args.upgrades} samples (ms)   median")
    pm, wm, cm = statistics.median(portal), statistics.median(worker_part), statistics.median(cli)
    print(f"  {'alembic upgrade head (CLI subprocess)':40s} {cm:8.1f}  1.00x")
    print(f"  {'portal: schedule_run -> succeeded':40s} {pm:8.1f}  {pm / cm:.2f}x")
    print(f"  {'  of which the worker (started -> finished)':40s} {wm:8.1f}  {wm / cm:.2f}x")
    print(f"  samples portal {', '.join(f'{s:.0f}' for s in portal)}; cli {', '.join(f'{s:.0f}' for s in cli)}")


if __name__ == "__main__":
    main()
