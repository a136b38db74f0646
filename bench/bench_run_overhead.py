"""The run overhead as a user gets it: ``ops upgrade TARGET head --wait`` through a running worker
against ``alembic upgrade head`` (the Alembic CLI), on one long history, interleaved (A B A B ...).

    .venv/bin/python bench/bench_run_overhead.py [--revisions 300] [--runs 3] [--profile]

What it does, in one go on this machine:
- a generated project of ``--revisions`` revisions (``tests/engine/big_history.py``: two bases, branch
  points, merges, a three-way merge, a branch label, ``depends_on``; bodies empty, so the figure is
  the per-step cost of each tool, not the DDL), closed by one merge revision so that ``head`` is
  one revision; its ``env.py`` is Alembic's "sharing a connection" cookbook: a passed connection
  wins, else the URL from ``BENCH_URL``, ``transaction_per_migration=True`` (one transaction per
  revision, as the portal runs);
- a throwaway portal database (migrated), a private Redis database and queue, one Celery worker
  (``-c 2``) started as a user starts it, the target registered with ``ops add-target`` (default
  options);
- per round, the target database recreated before each side: A the Alembic CLI
  ``alembic -c PROJECT/alembic.ini upgrade head`` (whole process), B ``manage.py ops upgrade TARGET head
  --wait`` (whole process: Django start, planning with the offline SQL and its review, the queue, the
  worker, the polling) and, from the run's own timestamps, the worker's part (``started_at`` ->
  ``finished_at``) and queue -> done (``created_at`` -> ``finished_at``);
- ``--profile``: one more run, its task called in this process under cProfile (top functions printed);
  ``--profile-ops``: one more ``ops upgrade --wait`` under ``python -m cProfile``; ``--engine``: per round,
  also ``run_plan`` alone in this process (**in-process**, no portal: what the worker adds is the difference).

Everything it creates is dropped at the end. Needs the tests' maintenance superuser
(``MOP_TEST_ADMIN_URL`` in .env) to create databases.
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(ROOT / "bench"))

import bench_user_path as up  # noqa: E402 - its worker start and stop

PORTAL_DB = "mop_bench_overhead_portal"
TARGET_DB = "mop_bench_overhead_target"
REDIS_DB = os.environ.get("MOP_BENCH_REDIS_DB", "11")
PY = str(ROOT / ".venv" / "bin" / "python")
ALEMBIC = str(ROOT / ".venv" / "bin" / "alembic")
TARGET = "bench-overhead"

ENV_PY = '''
import os

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def run():
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(os.environ["BENCH_URL"], poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


run()
'''

MERGE = '''"""merge every head

Revision ID: ffffffffffff
Revises: {revises}
"""
revision = "ffffffffffff"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
'''


def _with_db(url: str, db: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{db}"))


def make_project(root: Path, revisions: int) -> Path:
    """``revisions - 1`` generated revisions and one merge of all their heads (one ``head``)."""
    from alembic.script import ScriptDirectory

    from tests.engine.big_history import make_big_project

    make_big_project(root, revisions - 1)
    heads = tuple(sorted(ScriptDirectory(str(root)).get_heads()))
    (root / "versions" / "ffffffffffff_merge_every_head.py").write_text(
        MERGE.format(revises=", ".join(heads), down=heads))
    (root / "env.py").write_text(ENV_PY)
    return root


def _env(queue: str) -> None:
    import environ

    environ.Env.read_env(ROOT / ".env", overwrite=False)
    admin = os.environ["MOP_TEST_ADMIN_URL"]
    os.environ["MOP_BENCH_ADMIN_URL"] = admin
    os.environ["DATABASE_URL"] = _with_db(admin, PORTAL_DB)
    os.environ["MOP_MIGRATE_DATABASE_URL"] = _with_db(admin, PORTAL_DB)
    os.environ["REDIS_URL"] = _with_db(os.environ["REDIS_URL"], REDIS_DB)
    os.environ.pop("CELERY_RESULT_BACKEND", None)
    os.environ["MOP_CELERY_QUEUE"] = queue
    os.environ["MOP_CLI_USER"] = "bench"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def _recreate(name: str) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(os.environ["MOP_BENCH_ADMIN_URL"], autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_db(os.environ["MOP_BENCH_ADMIN_URL"], name).replace("postgres://", "postgresql://", 1)


def _drop(*names: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(os.environ["MOP_BENCH_ADMIN_URL"], autocommit=True) as c:
        for name in names:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited {proc.returncode}:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return wall


def _version_rows(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as c:
        return c.execute("SELECT count(*) FROM alembic_version").fetchone()[0]


def engine_alone(project: Path) -> float:
    """``run_plan`` base -> head in this process on a fresh database: the engine without the portal (in-process)."""
    from migrations_ops.schema.project import ProjectSource, resolve_project
    from migrations_ops.schema.runner import run_plan
    from migrations_ops.target import TargetConn

    target = TargetConn.from_url(_recreate(TARGET_DB))
    t0 = time.perf_counter()
    run_plan(target, resolve_project(ProjectSource(str(project))), "upgrade", "head", run_id="bench")
    return time.perf_counter() - t0


def profile_one(project: Path, top: int) -> None:
    """Schedule a run and call its task in this process under cProfile (the worker's part only)."""
    import cProfile
    import pstats

    from django.contrib.auth import get_user_model

    from portal.ops import dispatch, services
    from portal.ops.models import Run, Target
    from portal.ops.tasks import schema as tasks

    _recreate(TARGET_DB)
    queued: list[Run] = []
    original = dispatch.send_run
    dispatch.send_run = queued.append
    sched = cProfile.Profile()
    try:
        run = sched.runcall(services.schedule_run, target=Target.objects.get(name=TARGET), operation="upgrade",
                            revision="head", user=get_user_model().objects.get(username="bench"))
    finally:
        dispatch.send_run = original
    print("\nprofiled schedule_run in this process (what 'ops upgrade' does before the queue):")
    pstats.Stats(sched).sort_stats("cumulative").print_stats(top)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.runcall(tasks.run_operation.run, run.pk)
    wall = time.perf_counter() - t0
    run.refresh_from_db()
    print(f"\nprofiled run #{run.pk} in this process: {run.status}, {wall:.2f} s under cProfile")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)
    pstats.Stats(prof).sort_stats("cumulative").print_callees("run_operation")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--revisions", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="also profile one run's task in this process")
    ap.add_argument("--profile-ops", action="store_true",
                    help="also run one 'ops upgrade --wait' under cProfile (the command's own process)")
    ap.add_argument("--engine", action="store_true",
                    help="also time the engine alone in this process (run_plan, no portal; labelled in-process)")
    ap.add_argument("--top", type=int, default=40)
    a = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="mop-bench-overhead-")
    folder = Path(tmp.name)
    project = make_project(folder / "history", a.revisions)
    _env(f"mop-bench-{uuid.uuid4().hex[:8]}")
    _recreate(PORTAL_DB)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from portal.ops.models import Run, RunLog

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", uuid.uuid4().hex)
    for g in Group.objects.all():
        user.groups.add(g)
    worker = up._start_worker(f"overhead{uuid.uuid4().hex[:6]}", folder / "worker.log")
    rows: list[dict] = []
    try:
        url = _recreate(TARGET_DB)
        env = {**os.environ, "BENCH_TARGET_URL": url, "BENCH_URL": url}
        subprocess.run([PY, str(ROOT / "manage.py"), "ops", "add-target", TARGET, "--dsn-env", "BENCH_TARGET_URL",
                        "--project", str(project)], cwd=ROOT, env=env, check=True, capture_output=True)
        ops = [PY, str(ROOT / "manage.py"), "ops", "upgrade", TARGET, "head", "--wait"]
        cli = [ALEMBIC, "-c", str(project / "alembic.ini"), "upgrade", "head"]
        for i in range(a.runs + 1):  # round 0 warms the worker (revision imports) and the page cache
            _recreate(TARGET_DB)
            t_cli = _timed(cli, env)
            assert _version_rows(url) == 1
            _recreate(TARGET_DB)
            t_ops = _timed(ops, env)
            run = Run.objects.order_by("-pk").first()
            assert run is not None and run.status == Run.Status.SUCCEEDED, run and run.error
            row = {"round": i, "cli": t_cli, "ops": t_ops, "steps": run.steps_done,
                   "worker": (run.finished_at - run.started_at).total_seconds(),
                   "queue_done": (run.finished_at - run.created_at).total_seconds(),
                   "logs": RunLog.objects.filter(run=run).count()}
            print(f"round {i}{' (warm-up)' if i == 0 else ''}: alembic CLI {t_cli:.2f} s | ops upgrade --wait "
                  f"{t_ops:.2f} s ({t_ops / t_cli:.2f}x) | queue->done {row['queue_done']:.2f} s "
                  f"({row['queue_done'] / t_cli:.2f}x) | worker {row['worker']:.2f} s ({row['worker'] / t_cli:.2f}x)"
                  f" | {row['steps']} steps, {row['logs']} log lines", flush=True)
            if a.engine:
                row["engine"] = engine_alone(project)
                print(f"         engine alone, in-process (run_plan, no portal): {row['engine']:.2f} s "
                      f"({row['engine'] / t_cli:.2f}x)", flush=True)
            if i:
                rows.append(row)
        if a.profile:
            profile_one(project, a.top)
        if a.profile_ops:
            import pstats

            _recreate(TARGET_DB)
            out = folder / "ops.prof"
            _timed([PY, "-m", "cProfile", "-o", str(out), *ops[1:]], env)
            print("\nprofiled 'ops upgrade --wait' (its own process):")
            pstats.Stats(str(out)).sort_stats("cumulative").print_stats(a.top)
    finally:
        up._stop(worker)
        from django.db import connections

        connections.close_all()
        _drop(PORTAL_DB, TARGET_DB)
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
        tmp.cleanup()
    if rows:
        keys = ("cli", "ops", "worker", "queue_done", *(("engine",) if a.engine else ()))
        med = {k: statistics.median(r[k] for r in rows) for k in keys}
        print(f"\n{a.revisions} revisions, base -> head, {len(rows)} rounds, medians (load {os.getloadavg()[0]:.1f}):")
        print(f"  alembic upgrade head (CLI, whole process)        {med['cli']:6.2f} s  1.00x")
        for k, label in (("ops", "ops upgrade --wait (whole process)"), ("queue_done", "run created -> finished"),
                         ("worker", "worker: run started -> finished"),
                         *((("engine", "in-process: run_plan alone, no portal"),) if a.engine else ())):
            print(f"  {label:48s} {med[k]:6.2f} s  {med[k] / med['cli']:.2f}x")
        print("  ratios per round (ops/CLI, worker/CLI): "
              + ", ".join(f"{r['ops'] / r['cli']:.2f}/{r['worker'] / r['cli']:.2f}" for r in rows))


if __name__ == "__main__":
    main()
