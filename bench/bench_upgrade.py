"""Benchmark: the portal's upgrade of examples/billing from base to head vs `alembic upgrade head`.

Each sample recreates the same database, then times one of:
- ``run_plan`` in this process (a warm Celery worker: libraries already imported);
- ``run_plan`` in a fresh Python process (cold, like the CLI);
- the real ``alembic -c examples/billing/alembic.ini upgrade head`` CLI, the URL in BILLING_DATABASE_URL.

Run: ``.venv/bin/python bench/bench_upgrade.py [--runs 5]``; creates its database as the
tests' maintenance superuser (``tests.conftest.admin_url``: MOP_TEST_ADMIN_URL or the local cluster's).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from migrations_ops.schema.project import ProjectSource, resolve_project  # noqa: E402
from migrations_ops.schema.runner import run_plan  # noqa: E402
from migrations_ops.target import TargetConn  # noqa: E402

EXAMPLE = ROOT / "examples" / "billing"
DBNAME = "mop_bench_upgrade"
CHILD = (
    "import sys; from migrations_ops.schema.project import ProjectSource;"
    "from migrations_ops.schema.runner import run_plan; from migrations_ops.target import TargetConn;"
    "run_plan(TargetConn.from_url(sys.stdin.readline().strip()), ProjectSource(sys.argv[1]),"
    " 'upgrade', 'head', run_id='bench')"
)


def admin() -> TargetConn:
    """The tests' maintenance superuser (the portal's role may not create databases)."""
    from tests.conftest import admin_conn

    return admin_conn()


def recreate(a: TargetConn) -> TargetConn:
    with psycopg.connect(**a.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DBNAME)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DBNAME)))
    return TargetConn(host=a.host, port=a.port, dbname=DBNAME, user=a.user, password=a.password,
                      sslmode=a.sslmode)


def url(t: TargetConn) -> str:
    return f"postgresql://{quote(t.user, safe='')}:{quote(t.password, safe='')}@{t.host}:{t.port}/{t.dbname}"


def time_once(a: TargetConn, fn: Callable[[TargetConn], None]) -> float:
    target = recreate(a)
    started = time.perf_counter()
    fn(target)
    return (time.perf_counter() - started) * 1000


def portal_warm(t: TargetConn) -> None:
    run_plan(t, resolve_project(ProjectSource(str(EXAMPLE))), "upgrade", "head", run_id="bench")


def portal_cold(t: TargetConn) -> None:
    subprocess.run([sys.executable, "-c", CHILD, str(EXAMPLE)], input=url(t) + "\n", text=True, check=True,
                   cwd=ROOT, capture_output=True)


def alembic_cli(t: TargetConn) -> None:
    env = {**os.environ, "BILLING_DATABASE_URL": url(t)}
    subprocess.run([str(Path(sys.executable).parent / "alembic"), "-c", str(EXAMPLE / "alembic.ini"), "upgrade",
                    "head"], env=env, check=True, cwd=ROOT, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    a = admin()
    portal_warm(recreate(a))  # warm the imports once, as a running worker has
    results = {}
    for name, fn in (("alembic upgrade head (CLI)", alembic_cli), ("run_plan, fresh process", portal_cold),
                     ("run_plan, warm worker", portal_warm)):
        samples = [time_once(a, fn) for _ in range(args.runs)]
        results[name] = statistics.median(samples)
        print(f"{name:32s} median {results[name]:8.1f} ms  ({', '.join(f'{s:.0f}' for s in samples)})")
    cli = results["alembic upgrade head (CLI)"]
    for name in ("run_plan, fresh process", "run_plan, warm worker"):
        print(f"ratio {name} / CLI: {results[name] / cli:.2f}x")
    with psycopg.connect(**a.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DBNAME)))


if __name__ == "__main__":
    main()
