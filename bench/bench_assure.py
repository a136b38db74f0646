"""Benchmark: rehearsal of the example plan against the run itself, and a drift check of a 200-table schema.

In-process figures (a warm worker's view: libraries imported), median of ``--runs``:

1. ``run_plan`` upgrade base -> head of ``examples/billing`` on a fresh database (the run's own time),
   interleaved with ``rehearse_plan`` of the same plan from a target at base: schema dump (started first),
   spare scratch database claimed, dump loaded, up, back, up again in one run session, schema snapshots
   after every step; timed until the report is handed over (``on_report``: what the user waits for) and
   with the clean-up after it (drop, next spare). A warm-up rehearsal first (imports, the first spare).
   Goal: under 3x the run.
2. ``schema_drift`` of a 200-table schema against its expected snapshot already cached (what a
   scheduled check costs once the replay is cached); baseline in the same run: ``pg_dump --schema-only``
   of the same database (what a DBA diffs by hand). Goal: under 2 s.

Run: ``.venv/bin/python bench/bench_assure.py [--runs 5]`` (creates its databases as the tests'
maintenance superuser, ``tests.conftest.admin_url``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from migrations_ops.drift import schema_drift  # noqa: E402
from migrations_ops.rehearse import rehearse_plan  # noqa: E402
from migrations_ops.schema.project import ProjectSource, resolve_project  # noqa: E402
from migrations_ops.schema.runner import run_plan  # noqa: E402
from migrations_ops.schema_snapshot import take_snapshot_of  # noqa: E402
from migrations_ops.scratch import pg_tool, tool_env  # noqa: E402
from migrations_ops.target import TargetConn  # noqa: E402

EXAMPLE = ROOT / "examples" / "billing"


def admin() -> TargetConn:
    from tests.conftest import admin_conn

    return admin_conn()


def recreate(a: TargetConn, name: str) -> TargetConn:
    with psycopg.connect(**a.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return TargetConn(host=a.host, port=a.port, dbname=name, user=a.user, password=a.password, sslmode=a.sslmode)


def drop(a: TargetConn, name: str) -> None:
    with psycopg.connect(**a.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_rehearsal(a: TargetConn, runs: int) -> None:
    project = resolve_project(ProjectSource(location=str(EXAMPLE)))
    run_s, report_s, total_s, clone_s, phases_s = [], [], [], [], []
    warm = recreate(a, "mop_bench_rehearse_target")  # warm-up: imports, and the first spare scratch database
    rehearse_plan(warm, a, project, "upgrade", "head", (), rehearsal_id="bench-warm")
    for i in range(runs):
        fresh = recreate(a, "mop_bench_run")
        run_s.append(timed(lambda fresh=fresh, i=i: run_plan(fresh, project, "upgrade", "head", run_id=f"b{i}")))
        target = recreate(a, "mop_bench_rehearse_target")
        report = None
        reported: list[float] = []
        started = time.perf_counter()

        def go(target=target, i=i, started=started, reported=reported):
            nonlocal report
            report = rehearse_plan(target, a, project, "upgrade", "head", (), rehearsal_id=f"bench{i}",
                                   on_report=lambda _r: reported.append(time.perf_counter() - started))
        total_s.append(timed(go))
        assert report is not None and report.passed, report.problems if report else None
        report_s.append(reported[0])
        clone_s.append(report.clone_seconds)
        phases_s.append([p.seconds for p in report.phases])
    drop(a, "mop_bench_run")
    drop(a, "mop_bench_rehearse_target")
    run_m, rep_m, tot_m = statistics.median(run_s), statistics.median(report_s), statistics.median(total_s)
    print(f"run_plan base->head (the run):             median {run_m * 1000:8.1f} ms  (n={runs})")
    print(f"rehearse_plan until its report is handed:  median {rep_m * 1000:8.1f} ms  ratio {rep_m / run_m:5.2f}x"
          f"  (dump + load {statistics.median(clone_s) * 1000:.0f} ms)")
    print(f"rehearse_plan with the clean-up (drop, next spare): median {tot_m * 1000:8.1f} ms  "
          f"ratio {tot_m / run_m:5.2f}x")
    first, back, again = (statistics.median(p[i] for p in phases_s) for i in range(3))
    print(f"  phases: first {first * 1000:.0f} ms, back {back * 1000:.0f} ms, again {again * 1000:.0f} ms")


def bench_drift(a: TargetConn, runs: int) -> None:
    target = recreate(a, "mop_bench_drift200")
    with psycopg.connect(**target.connect_kwargs("mop-bench"), autocommit=True) as c:
        for i in range(200):
            t = sql.Identifier(f"t{i:03d}")
            c.execute(sql.SQL("CREATE TABLE {} (id bigserial PRIMARY KEY, name text NOT NULL DEFAULT '', "
                              "amount numeric(12,2), created_at timestamptz DEFAULT now(), parent_id bigint)").format(t))
            c.execute(sql.SQL("CREATE INDEX {} ON {} (name)").format(sql.Identifier(f"ix_t{i:03d}_name"), t))
            if i:
                c.execute(sql.SQL("ALTER TABLE {} ADD FOREIGN KEY (parent_id) REFERENCES {}").format(
                    t, sql.Identifier(f"t{i - 1:03d}")))
    expected = take_snapshot_of(target)  # stands for the cached replay
    drift_s, dump_s = [], []
    for _ in range(runs):
        result = None

        def go():
            nonlocal result
            result = schema_drift(target, expected)
        drift_s.append(timed(go))
        assert result is not None and result.diff.equal
        dump = [pg_tool("pg_dump", 150000), "--schema-only", "-f", "/dev/null"]
        dump_s.append(timed(lambda dump=dump: subprocess.run(dump, env=tool_env(target, "mop-bench"), check=True)))
    drop(a, "mop_bench_drift200")
    print(f"drift check, 200 tables ({len(expected.objects)} objects), expected cached: "
          f"median {statistics.median(drift_s) * 1000:7.1f} ms  max {max(drift_s) * 1000:7.1f} ms")
    print(f"baseline pg_dump --schema-only of the same database:      median {statistics.median(dump_s) * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    a = admin()
    bench_rehearsal(a, args.runs)
    bench_drift(a, args.runs)


if __name__ == "__main__":
    main()
