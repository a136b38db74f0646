"""``ops status TARGET`` against ``alembic current`` on the same database, whole processes (the user path).

    .venv/bin/python bench/bench_cli_status.py [--runs 7]

A throwaway portal database (migrated) and a target database upgraded to the billing example's head by the
Alembic CLI; the target registered with ``ops add-target``. Interleaved, per round: ``alembic current``
(the example's env.py, ``BILLING_DATABASE_URL``), ``manage.py ops status TARGET`` warm (the listing cache
holds these scripts and this current revision, as from the second status on), the same with ``--json``, and
``ops status`` cold (an empty cache every run: Alembic's map is built). Wall and CPU time (user + system of
the child) are printed side by side, medians. Everything it creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_user_path import PORTAL_DB, PY, TAG, _admin_exec, _env, _recreate  # noqa: E402

BILLING = ROOT / "examples" / "billing"
TARGET_DB = f"mop_bench_status_{TAG}"


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall * 1000, ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mop-bench-status-"))
    _env(f"mop-bench-{uuid.uuid4().hex[:8]}", folder)
    _recreate(PORTAL_DB)
    url = _recreate(TARGET_DB).replace("postgres://", "postgresql://", 1)
    env = {**os.environ, "BILLING_DATABASE_URL": url, "BENCH_TARGET_URL": url, "MOP_VAR_DIR": str(folder / "var")}
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        get_user_model().objects.create_superuser("bench", "bench@example.org", uuid.uuid4().hex)
        subprocess.run([str(ROOT / ".venv" / "bin" / "alembic"), "upgrade", "head"], cwd=BILLING, env=env,
                       check=True, capture_output=True)
        subprocess.run([PY, "manage.py", "ops", "add-target", "bench-status", "--dsn-env", "BENCH_TARGET_URL",
                        "--project", str(BILLING)], cwd=ROOT, env=env, check=True, capture_output=True)
        ops = [PY, str(ROOT / "manage.py"), "ops", "status", "bench-status"]
        cases = {
            "alembic current (CLI)": ([str(ROOT / ".venv" / "bin" / "alembic"), "current"], BILLING),
            "ops status": (ops, ROOT),
            "ops status --json": ([*ops, "--json"], ROOT),
            "ops status, cold cache": (ops, ROOT),
        }
        results: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
        outputs: dict[str, str] = {}
        timed(ops, ROOT, env)  # fills the warm cache
        for _ in range(a.runs):
            for name, (cmd, cwd) in cases.items():
                run_env = {**env, "MOP_VAR_DIR": str(Path(tempfile.mkdtemp(dir=folder)) / "var")} if "cold" in name \
                    else env
                wall, cpu, out = timed(cmd, cwd, run_env)
                results[name].append((wall, cpu))
                outputs[name] = out
        head = outputs["alembic current (CLI)"].split()[0]
        assert head in outputs["ops status"] and "up to date" in outputs["ops status"], outputs
        assert outputs["ops status, cold cache"] == outputs["ops status"]
        base = statistics.median(w for w, _ in results["alembic current (CLI)"])
        print(f"medians of {a.runs} runs, whole processes, the target at {head} (both agree); load "
              f"{os.getloadavg()[0]:.1f}")
        print(f"{'command':28} {'wall ms':>8} {'CPU ms':>8} {'wall vs CLI':>11}")
        for name, samples in results.items():
            wall = statistics.median(w for w, _ in samples)
            cpu = statistics.median(c for _, c in samples)
            print(f"{name:28} {wall:8.0f} {cpu:8.0f} {wall / base:10.2f}x")
    finally:
        from django.db import connections
        from psycopg import sql

        connections.close_all()
        _admin_exec(*(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(d))
                      for d in (PORTAL_DB, TARGET_DB)))


if __name__ == "__main__":
    main()
