"""Benchmark the copy's pre-flight (with its reject prediction) against the copy of the same file, same run.

    python bench/bench_preflight.py [--transactions 1000000] [--workers 2] [--runs 1] [--sqlite FILE]
        [--baseline DIR]

The file is the generated billing file (bench/gen_billing_sqlite.py, nasty
values, planted rejects) and the target the typed billing schema, in a
database created for the run and dropped after it. Per run: the pre-flight
(integrity check, storage-class profile, orphans, and the predicted rejects of
every column), then the copy as bench_copy.py runs it (``defer_constraints``,
``--workers`` processes). The goal: pre-flight under 25 % of the
copy's own time. The predicted rejects are checked against the copy's, per
table, column and reason (a benchmark that predicts wrong is not a result).

``--baseline DIR`` times, in each run and just before ours, the pre-flight of an
earlier checkout of the project (its C helpers built in place, e.g. ``git
worktree add DIR main && cd DIR && python setup.py build_ext --inplace``) in a
child process on the same file and target, and checks that both reports are
identical (``to_dict()``): a faster pre-flight that says something else is not
a result.

In-process figures: the engine's functions called from this script, not the
admin or ``ops copy --wait`` (see bench_preflight_user_path.py for those).
Prints one JSON line per run and the medians.
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
from collections import Counter
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gen_billing_sqlite import TYPED_TARGET_DDL, generate  # noqa: E402

from migrations_ops.copy import CopyOptions, copy_database, list_rejects, preflight  # noqa: E402
from migrations_ops.target import TargetConn  # noqa: E402

_BASELINE_PREFLIGHT = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from migrations_ops.copy import preflight
from migrations_ops.target import TargetConn
target = TargetConn.from_url(os.environ["MOP_BENCH_TARGET_URL"])
t0 = time.monotonic()
report = preflight(sys.argv[2], target)
print(json.dumps({"seconds": time.monotonic() - t0, "report": report.to_dict()}))
"""
"""The earlier checkout's pre-flight, timed inside its own process (imports are not counted)."""


def _baseline(tree: Path, path: Path, target_url: str) -> tuple[float, dict[str, object]]:
    """(seconds, report as a dict) of the pre-flight of the checkout at ``tree``."""
    out = subprocess.run([sys.executable, "-c", _BASELINE_PREFLIGHT, str(tree.resolve()), str(path)], cwd=tree,
                         env={**os.environ, "MOP_BENCH_TARGET_URL": target_url}, check=True, capture_output=True)
    data = json.loads(out.stdout)
    return float(data["seconds"]), data["report"]


def one_run(path: Path, target: TargetConn, workers: int, baseline: Path | None, target_url: str) -> dict[str, object]:
    """(The baseline's pre-flight, then) ours, then the copy into the freshly created schema; all timed, the
    predictions checked against the copy's rejects and the two reports against each other."""
    with psycopg.connect(**target.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute("DROP SCHEMA IF EXISTS public CASCADE; DROP SCHEMA IF EXISTS mop CASCADE; CREATE SCHEMA public")
        c.execute(TYPED_TARGET_DDL)  # type: ignore[arg-type]
    base = _baseline(baseline, path, target_url) if baseline else None
    t0 = time.monotonic()
    report = preflight(path, target)
    t1 = time.monotonic()
    summary = copy_database(path, target, CopyOptions(defer_constraints=True, workers=workers), copy_id="benchpf")
    t2 = time.monotonic()
    predicted = Counter({(t.name, p.column, p.code): p.values for t in report.tables for p in t.predicted.rejects})
    actual = Counter((r.table, r.column, r.code) for r in list_rejects(target, "benchpf", include_warnings=False))
    row: dict[str, object] = {"rows": sum(t.rows for t in report.tables)}
    if base is not None:
        ours = json.loads(report.to_json())
        row |= {"baseline_preflight_s": round(base[0], 3), "baseline_ratio": round(base[0] / (t2 - t1), 3),
                "reports_identical": ours == base[1]}
    return row | {
        "preflight_s": round(t1 - t0, 3), "copy_s": round(t2 - t1, 3),
        "ratio": round((t1 - t0) / (t2 - t1), 3), "predicted_rejects": sum(predicted.values()),
        "copy_rejects": summary.rows_rejected, "prediction_equals_copy": predicted == actual,
        "values_checked_in_python": sum(t.predicted.values_checked_in_python for t in report.tables),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transactions", type=int, default=1_000_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--sqlite", type=Path, help="an already generated billing file (gen_billing_sqlite.py, seed 0)")
    p.add_argument("--baseline", type=Path, help="an earlier checkout (C helpers built) whose pre-flight runs beside ours")
    a = p.parse_args()
    admin = TargetConn.from_url(os.environ.get("DATABASE_URL", "").replace("postgres://", "postgresql://", 1))
    dbname = f"mop_bench_pf_{os.getpid()}"
    with psycopg.connect(**admin.connect_kwargs("mop-bench"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    target = TargetConn(admin.host, dbname, admin.user, admin.password, admin.port, admin.sslmode)
    url = os.environ.get("DATABASE_URL", "").replace("postgres://", "postgresql://", 1)
    target_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{dbname}"))
    try:
        with tempfile.TemporaryDirectory() as work:
            path = a.sqlite or Path(work) / "billing.sqlite"
            if a.sqlite is None:
                generate(path, a.transactions, seed=0)
            results = []
            for _ in range(a.runs):
                results.append(one_run(path, target, a.workers, a.baseline, target_url))
                print(json.dumps(results[-1]), flush=True)
    finally:
        with psycopg.connect(**admin.connect_kwargs("mop-bench"), autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
    pre = statistics.median(r["preflight_s"] for r in results)  # type: ignore[misc]
    cop = statistics.median(r["copy_s"] for r in results)  # type: ignore[misc]
    print(f"median pre-flight {pre:.2f} s, copy {cop:.2f} s: pre-flight is {100 * pre / cop:.0f} % of the copy "
          f"(goal under 25 %); predictions equal the copy's rejects: "
          f"{all(r['prediction_equals_copy'] for r in results)}")
    if a.baseline:
        base = statistics.median(r["baseline_preflight_s"] for r in results)  # type: ignore[misc]
        print(f"baseline pre-flight (same runs) {base:.2f} s: {100 * base / cop:.0f} % of the copy; "
              f"reports identical: {all(r['reports_identical'] for r in results)}")


if __name__ == "__main__":
    main()
