"""Benchmark the copy's pre-flight as a user runs it against the copy as a user runs it, in the same rounds.

    .venv/bin/python bench/bench_preflight_user_path.py [--transactions 1000000] [--runs 2] [--sqlite FILE]
        [--baseline DIR]

User path, default options: ``manage.py ops copy TARGET --sqlite FILE --preflight-only`` (a whole CLI
process: Django's start, the pre-flight, the report printed) against ``manage.py ops copy TARGET --sqlite FILE
--wait`` with one Celery worker (``-c 2``) started as a user starts it. The file is the nasty billing file
(bench/gen_billing_sqlite.py, seed 0, planted rejects: the copy ends "succeeded with rejects", exit 4) and
the target the typed billing schema, recreated empty before each round. The copy's own verification is
waited for before the next round (not counted). ``--baseline DIR``: an earlier checkout (C helpers built in
place) whose ``--preflight-only`` runs in the same round, just before ours, against the same portal.

``--admin``: the same through the admin button instead of the CLI: the pre-flight is the copy form's
POST (the page it answers with, Django's handler in this process, no HTTP) and the copy is the confirm
POST until the run has finished (polled from the portal database), through the same worker.

Set-up as bench_user_path.py (whose helpers it uses): a throwaway portal database, a private queue on this
worktree's Redis database, the tests' maintenance superuser (``MOP_TEST_ADMIN_URL``) to create databases.
Everything it creates is dropped at the end. Prints one JSON line per round and the medians.
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
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_user_path as up  # noqa: E402

up.PORTAL_DB = "mop_bench_pf_user_portal"  # not bench_user_path's own: both may run on this machine
TARGET_DB = "mop_bench_pf_user_billing"
TARGET = "bench-preflight"


def _ops_in(tree: Path, *args: str) -> list[str]:
    """``manage.py ops ...`` of the checkout at ``tree`` (its own code first on the path)."""
    return [up.PY, str(tree / "manage.py"), "ops", *args]


def _cli(tree: Path, *args: str) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system, the process and its children), exit code and output tail of
    ``manage.py ops ARGS`` run from ``tree``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(_ops_in(tree, *args), cwd=tree, env=os.environ, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode(errors="replace")  # type: ignore[union-attr]
    _pid, status, ru = os.wait4(proc.pid, 0)
    return time.perf_counter() - t0, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status), out[-1500:]


def _preflight(tree: Path, name: str) -> tuple[float, float]:
    """Wall and CPU seconds of ``ops copy --preflight-only`` run from ``tree``."""
    wall, cpu, code, out = _cli(tree, "copy", TARGET, "--sqlite", name, "--preflight-only")
    if code != 0:
        raise RuntimeError(f"pre-flight in {tree} failed ({code}):\n{out}")
    return wall, cpu


def _form_defaults() -> dict[str, str]:
    """What the copy form posts when the DBA changes nothing (its fields' initial values)."""
    from portal.ops.copy_forms import CopyOptionsMixin

    return {k: str(f.initial) for k, f in CopyOptionsMixin.base_fields.items()
            if f.initial is not None and not isinstance(f.initial, bool)}


def admin_round(i: int, name: str, ddl: str, client) -> dict[str, object]:
    """One round through the admin's copy button: the pre-flight page, then the confirmed copy to its end."""
    from django.urls import reverse

    from portal.ops.models import Run, Target

    up._recreate(TARGET_DB, ddl)
    url = reverse("admin:ops_target_copy", args=[Target.objects.get(name=TARGET).pk])
    defaults = _form_defaults()
    t0 = time.perf_counter()
    page = client.post(url, {"pick": name, **defaults})
    preflight_s = time.perf_counter() - t0
    if page.status_code != 200 or b"Pre-flight" not in page.content:
        raise RuntimeError(f"pre-flight page: {page.status_code}")
    t0 = time.perf_counter()
    done = client.post(url, {"source": name, "post": "yes", **defaults})
    if done.status_code != 302:
        raise RuntimeError(f"copy confirm: {done.status_code} {done.content[-500:]!r}")
    run = Run.objects.filter(operation=Run.Operation.COPY, target__name=TARGET).order_by("-pk").first()
    while run is not None and (run.is_active or run.status in Run.WAITING):
        time.sleep(0.05)
        run.refresh_from_db()
    copy_s = time.perf_counter() - t0
    row = {"round": i, "path": "admin", "preflight_s": round(preflight_s, 2), "copy_s": round(copy_s, 2),
           "copy_status": run.status if run else None, "ratio": round(preflight_s / copy_s, 3)}
    if run is not None:
        up._wait_verify_of_copy(run.pk)
    print(json.dumps(row), flush=True)
    return row


def one_round(i: int, name: str, ddl: str, baseline: Path | None) -> dict[str, object]:
    from portal.ops.models import Run

    up._recreate(TARGET_DB, ddl)
    row: dict[str, object] = {"round": i}
    # the CLI's own start (Django, the command's imports): part of both, the floor of the pre-flight's time
    row["cli_start_s"], row["cli_start_cpu_s"], _, _ = _cli(ROOT, "copy", "--help")
    if baseline is not None:
        row["baseline_preflight_s"], row["baseline_preflight_cpu_s"] = _preflight(baseline, name)
    row["preflight_s"], row["preflight_cpu_s"] = _preflight(ROOT, name)
    t0 = time.perf_counter()
    out = subprocess.run(up._ops("copy", TARGET, "--sqlite", name, "--wait"), cwd=ROOT, env=os.environ,
                            capture_output=True)
    row["copy_s"] = round(time.perf_counter() - t0, 2)
    run = Run.objects.filter(operation=Run.Operation.COPY, target__name=TARGET).order_by("-pk").first()
    row |= {"copy_exit": out.returncode, "copy_status": run.status if run else None,
            "ratio": round(float(row["preflight_s"]) / float(row["copy_s"]), 3)}
    if baseline is not None:
        row["baseline_ratio"] = round(float(row["baseline_preflight_s"]) / float(row["copy_s"]), 3)
    row = {k: round(v, 2) if isinstance(v, float) and not k.endswith("ratio") else v for k, v in row.items()}
    if run is not None:
        up._wait_verify_of_copy(run.pk)
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--sqlite", type=Path, help="an already generated billing file (gen_billing_sqlite.py, seed 0)")
    ap.add_argument("--baseline", type=Path, help="an earlier checkout whose pre-flight runs beside ours")
    ap.add_argument("--admin", action="store_true", help="through the admin's copy button instead of the CLI")
    a = ap.parse_args()
    if a.admin and a.baseline:
        ap.error("--baseline runs an earlier checkout's CLI pre-flight; with --admin, run that checkout's own "
                 "bench_preflight_user_path.py --admin in the same session instead")
    tmp = tempfile.TemporaryDirectory(prefix="mop-bench-pf-user-")
    folder = Path(tmp.name)
    import environ

    environ.Env.read_env(ROOT / ".env", overwrite=False)
    # this worktree's own Redis database (the queue is private anyway), not bench_user_path's default
    up.REDIS_DB = os.environ.get("MOP_BENCH_REDIS_DB") or urllib.parse.urlsplit(os.environ["REDIS_URL"]).path[1:] or "1"
    up._env(f"mop-bench-pf-{uuid.uuid4().hex[:8]}", folder)
    path = folder / "billing.sqlite"
    if a.sqlite:
        try:
            os.link(a.sqlite, path)
        except OSError:
            import shutil

            shutil.copyfile(a.sqlite, path)
    else:
        from gen_billing_sqlite import generate

        generate(path, a.transactions, seed=0)
    from gen_billing_sqlite import TYPED_TARGET_DDL

    up._recreate(up.PORTAL_DB)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", uuid.uuid4().hex)
    for g in Group.objects.all():
        user.groups.add(g)
    url = up._recreate(TARGET_DB, TYPED_TARGET_DDL)
    env = {**os.environ, "BENCH_TARGET_URL": url.replace("postgres://", "postgresql://", 1)}
    subprocess.run(up._ops("add-target", TARGET, "--dsn-env", "BENCH_TARGET_URL", "--project",
                              str(ROOT / "examples" / "billing")), cwd=ROOT, env=env, check=True, capture_output=True)
    worker = up._start_worker("benchpf", folder / "worker.log")
    rows = []
    try:
        client = None
        if a.admin:
            from django.test import Client

            client = Client(HTTP_HOST="127.0.0.1")  # an allowed host, as the browser sends it
            client.force_login(user)
        for i in range(a.runs):
            if client is not None:
                rows.append(admin_round(i, path.name, TYPED_TARGET_DDL, client))
            else:
                rows.append(one_round(i, path.name, TYPED_TARGET_DDL, a.baseline))
    finally:
        up._stop(worker)
        from django.db import connections

        connections.close_all()
        up._drop_databases(up.PORTAL_DB, TARGET_DB)
        tmp.cleanup()
    pre = statistics.median(float(r["preflight_s"]) for r in rows)  # type: ignore[arg-type]
    cop = statistics.median(float(r["copy_s"]) for r in rows)  # type: ignore[arg-type]
    what = ("admin button: pre-flight page", "copy confirmed to its end") if a.admin else (
        "ops copy --preflight-only", "ops copy --wait")
    print(f"user path, median: {what[0]} {pre:.2f} s, {what[1]} {cop:.2f} s: {100 * pre / cop:.0f} % (goal under 25 %)")
    if a.baseline:
        base = statistics.median(float(r["baseline_preflight_s"]) for r in rows)  # type: ignore[arg-type]
        print(f"baseline --preflight-only (same rounds) {base:.2f} s: {100 * base / cop:.0f} % of the copy")


if __name__ == "__main__":
    main()
