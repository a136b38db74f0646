"""Benchmark: change control — the risk assessment of the example plan on a 200-table target (in-process), and the
delay from the second approval / the window's opening to the run's start (through a real worker and beat).

What it does:
- in-process: a target database with 200 extra tables and the example schema at 3f1c9a2b7d40 with 100,000 users;
  the example plan from there to head (8 steps) is rendered once; then, N times each: the safety review
  the confirm page already runs (squawk + the portal's rules; the baseline), ``risk.assess_target`` with the
  default 0.1 s write-rate sample, the same without the sample, and the grouping of the findings;
- through the user path: a throwaway portal database (migrated), one ``celery -A portal worker`` and one
  ``celery -A portal beat`` (DatabaseScheduler, change tick every MOP_CHANGE_BEAT_SECONDS=1), a production
  target whose policy needs two approvals: N runs of a one-revision project, each measured from the call of
  the second ``decide`` to ``started_at``; N runs bound to a one-off window opening 2 s after scheduling,
  measured from the window's opening to ``started_at``; and, as baseline, N runs on a development target
  (no approval) from ``created_at`` to ``started_at``.

Run: ``.venv/bin/python bench/bench_change.py [--n 10]``. Uses the tests' maintenance superuser and the Redis
database MOP_BENCH_REDIS_DB (default: MOP_TEST_REDIS_DB, flushed at the end).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("MOP_BENCH_REDIS_DB", os.environ.get("MOP_TEST_REDIS_DB", "3"))

import bench_queue_latency as bq  # noqa: E402 - after the path and the Redis database are set

bq.PORTAL_DB = "mop_bench_change_portal"
RISK_DB, SMALL_DB, DEV_DB = "mop_bench_change_risk", "mop_bench_change_small", "mop_bench_change_dev"
BILLING = ROOT / "examples" / "billing"


def _ms(f) -> float:
    t = time.perf_counter()
    f()
    return (time.perf_counter() - t) * 1000


def risk_in_process(n: int) -> dict[str, list[float]]:
    import psycopg
    from psycopg import sql

    from migrations_ops.risk import assess_target
    from migrations_ops.risk.grouping import group_findings
    from migrations_ops.schema.plan import make_plan
    from migrations_ops.schema.project import ProjectSource, resolve_project
    from migrations_ops.schema.safety import check_plan_sql

    conn = bq._recreate(RISK_DB)
    with psycopg.connect(**conn.connect_kwargs("mop-bench"), autocommit=True) as c:
        for i in range(200):
            c.execute(sql.SQL("CREATE TABLE {} (id bigserial PRIMARY KEY, v text)").format(sql.Identifier(f"other_{i}")))
    with tempfile.TemporaryDirectory() as cache:
        resolved = resolve_project(ProjectSource(location=str(BILLING)), cache_dir=cache)
        subprocess.run([str(ROOT / ".venv/bin/alembic"), "-c", str(BILLING / "alembic.ini"), "upgrade", "3f1c9a2b7d40"],
                       cwd=BILLING, env={**os.environ, "DATABASE_URL": bq._with_db(
                           f"postgresql://{conn.user}:{conn.password}@{conn.host}:{conn.port}/x", RISK_DB)},
                       check=True, capture_output=True)
        with psycopg.connect(**conn.connect_kwargs("mop-bench"), autocommit=True) as c:
            c.execute("INSERT INTO users (user_id, created_at) SELECT 'u' || g, now() FROM generate_series(1, 100000) g")
            c.execute("ANALYZE")
        plan = make_plan(conn, resolved, "upgrade", "head")
    findings = [f.to_json() for f in check_plan_sql(plan.sql)]
    out: dict[str, list[float]] = {"review": [], "risk": [], "risk_nosample": [], "group": []}
    for _ in range(n):
        out["review"].append(_ms(lambda: check_plan_sql(plan.sql)))
        out["risk"].append(_ms(lambda: assess_target(conn, plan.sql, findings)))
        out["risk_nosample"].append(_ms(lambda: assess_target(conn, plan.sql, findings, sample_seconds=0)))
        risk = assess_target(conn, plan.sql, findings, sample_seconds=0)
        created = risk.created_tables
        out["group"].append(_ms(lambda c=created: group_findings(findings, plan.sql, created_tables=c)))
    out["level"] = risk.level  # type: ignore[assignment]
    out["steps"] = len(plan.steps)  # type: ignore[assignment]
    return out


def _start_beat(log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "ab")  # noqa: SIM115 - beat writes to it until it stops
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "portal", "beat", "-l", "info", "--max-interval", "1",
         "-s", str(log_path.with_suffix(".db")), "-S", "django_celery_beat.schedulers:DatabaseScheduler"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while "beat: Starting" not in log_path.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"beat did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return proc


def _started(run, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.started_at is not None or run.status not in ("queued", "scheduled", "awaiting_approval"):
            return run
        time.sleep(0.01)
    raise RuntimeError(f"run #{run.pk} still {run.status}")


def user_path(n: int, tmp: Path) -> dict[str, list[float]]:
    from django.contrib.auth.models import Group, User
    from django.utils.timezone import now

    from portal.change import services as change
    from portal.change.models import MaintenanceWindow, Policy
    from portal.ops import services
    from portal.ops.models import AlembicProject, Target

    project_dir = tmp / "small"
    (project_dir / "versions").mkdir(parents=True)
    (project_dir / "env.py").write_text("")
    (project_dir / "versions" / "q1_create_bench_t.py").write_text(bq.SMALL_REVISION)
    project = AlembicProject.objects.create(name="bench-small", location=str(project_dir))

    def target(name: str, env: str, db: str) -> Target:
        conn = bq._recreate(db)
        t = Target(name=name, project=project, environment=env, host=conn.host, port=conn.port, dbname=conn.dbname,
                   user=conn.user, sslmode=conn.sslmode)
        t.set_password(conn.password)
        t.save()
        return t

    prod, dev = target("bench-prod", "production", SMALL_DB), target("bench-dev", "development", DEV_DB)
    Policy.objects.filter(environment="production").update(approvals_required=2, approvals_required_high=2)
    approver = Group.objects.get(name="approver")
    requester = User.objects.create_superuser("req", "r@x", "x")
    anna, bert = (User.objects.create_user(u, f"{u}@x", "x") for u in ("anna", "bert"))
    for u in (anna, bert):
        u.groups.add(approver)
        u.user_permissions.clear()
    out: dict[str, list[float]] = {"baseline": [], "approval": [], "window": []}
    ops = ("upgrade", "downgrade")
    for i in range(n):
        op, rev = ops[i % 2], ("head", "base")[i % 2]
        run = bq._wait(services.schedule_run(target=dev, operation=op, revision=rev, user=requester,
                                             confirm_name="bench-dev"))
        out["baseline"].append((run.started_at - run.created_at).total_seconds() * 1000)
    for i in range(n):
        op, rev = ops[i % 2], ("head", "base")[i % 2]
        run = services.schedule_run(target=prod, operation=op, revision=rev, user=requester, confirm_name="bench-prod")
        change.decide(run, anna, "approved", "bench")
        t0 = now()
        change.decide(run, bert, "approved", "bench")
        run = bq._wait(_started(run))
        out["approval"].append((run.started_at - t0).total_seconds() * 1000)
    Policy.objects.filter(environment="production").update(approval_from="never")
    for i in range(max(3, n // 2)):
        op, rev = ops[i % 2], ("head", "base")[i % 2]
        opens = now() + timedelta(seconds=2)
        window = MaintenanceWindow.objects.create(name=f"w{i}", target=prod, kind="one_off", starts_at=opens,
                                                  ends_at=opens + timedelta(minutes=5))
        run = services.schedule_run(target=prod, operation=op, revision=rev, user=requester, confirm_name="bench-prod",
                                    start={"mode": "window"})
        run = bq._wait(_started(run, 30))
        out["window"].append((run.started_at - opens).total_seconds() * 1000)
        window.delete()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    args = parser.parse_args()
    bq._env()
    os.environ["MOP_CHANGE_BEAT_SECONDS"] = "1"
    # The bench portal database is throwaway: web, worker and beat use the maintenance role that created it.
    os.environ["DATABASE_URL"] = bq._with_db(os.environ["MOP_BENCH_ADMIN_URL"], bq.PORTAL_DB)
    bq._recreate(bq.PORTAL_DB)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    worker = beat = None
    try:
        risk = risk_in_process(args.n)
        with tempfile.TemporaryDirectory(prefix="mop-bench-change-") as tmp:
            worker = bq._start_worker(Path(tmp) / "worker.log")
            beat = _start_beat(Path(tmp) / "beat.log")
            path = user_path(args.n, Path(tmp))
    finally:
        for proc in (beat, worker):
            if proc is not None:
                bq._stop_worker(proc)
        from django.db import connections

        connections.close_all()
        bq._drop(bq.PORTAL_DB, RISK_DB, SMALL_DB, DEV_DB)
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    print(f"risk of the example plan ({risk['steps']} steps, level {risk['level']}) on a 200-table target, "
          f"in-process, {args.n} samples (ms)   median      p95")
    for name, key in (("safety review: squawk + rules (baseline)", "review"),
                      ("risk.assess_target, 0.1 s write sample", "risk"),
                      ("risk.assess_target, no write sample", "risk_nosample"),
                      ("group_findings", "group")):
        med, p95 = bq._stats(risk[key])
        print(f"  {name:45s} {med:8.1f} {p95:8.1f}")
    print("through a real worker and beat (tick 1 s) (ms)                  median      p95   n")
    for name, key in (("no approval: created_at -> started_at (baseline)", "baseline"),
                      ("second approval -> started_at", "approval"),
                      ("window opens -> started_at", "window")):
        med, p95 = bq._stats(path[key])
        print(f"  {name:55s} {med:8.1f} {p95:8.1f} {len(path[key]):3d}")
    print(f"  samples approval {', '.join(f'{s:.0f}' for s in path['approval'])}; "
          f"window {', '.join(f'{s:.0f}' for s in path['window'])}")
    _ = statistics


if __name__ == "__main__":
    main()
