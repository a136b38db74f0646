"""Benchmark the copy and the verification as a user gets them: real workers, ``ops copy --wait`` and
``ops verify --wait`` with default options, interleaved with pgloader data-only runs (A B A B ...).

    .venv/bin/python bench/bench_user_path.py [--data billing|orders|both] [--runs 2] [--workers 1]
        [--transactions 1000000] [--items 600000]

What it does, in one go on this machine:
- a throwaway portal database (migrated), a private Redis database and queue, ``--workers`` Celery
  workers (``-c 2`` each, different ``-n`` names) started as a user starts them;
- per data set: the file generated in the import folder (billing: bench/gen_billing_sqlite.py, clean
  variant, so pgloader can load it; orders: bench/gen_orders_sqlite.py), a target registered with
  ``ops add-target``;
- per round: the target database recreated with the typed schema (keys, FKs, indexes present), then
  A ``manage.py ops copy TARGET --sqlite FILE --wait`` (default options) and the verification the copy
  queues itself (waited for, not counted in the copy), then the database recreated again and B
  ``pgloader`` (``WITH data only, prefetch rows = 10000``) on the same schema;
- after the last round, on the portal's copy: ``ops verify TARGET --sqlite FILE --wait`` against
  ``count(*)`` of every table on both sides (SQLite and PostgreSQL, in this process);
- every 50 ms, the RSS of every process of each worker, of the ``ops`` process and of pgloader, from
  /proc: the peak of each process and the peak of their sum; the portal's PSS also at one moment (worker
  and ``ops`` together: ``ops`` is largest before it hands over to its waiter, the worker during the copy);
  CPU (user + system) of each from /proc (workers: the difference over the run) and of all PostgreSQL
  server processes (other work included).

Everything it creates is dropped at the end. Needs pgloader (Debian package ``pgloader``) and the
tests' maintenance superuser (``MOP_TEST_ADMIN_URL`` in .env) to create databases.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from migrations_ops.copy.source import qi  # noqa: E402 - after the checkout is on the path

TAG = "".join(c if c.isalnum() else "_" for c in os.environ.get("MOP_BENCH_TAG", ROOT.name).lower())
"""Suffix of the databases this bench creates and drops: two checkouts benching at once must not drop each other's."""
PORTAL_DB = f"mop_bench_user_portal_{TAG}"
REDIS_DB = os.environ.get("MOP_BENCH_REDIS_DB", "12")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
PY = str(ROOT / ".venv" / "bin" / "python")


def _with_db(url: str, db: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{db}"))


# --- /proc ---------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, int, str] | None:
    """(process group, CPU seconds, RSS bytes, command name) of a live process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1: raw.rindex(")")]
    f = raw[raw.rindex(")") + 2:].split()
    return int(f[2]), (int(f[11]) + int(f[12])) / TICK, int(f[21]) * PAGE, name


def _pss(pid: int) -> int:
    """Proportional set size in bytes (pages shared by forked pool children counted once in a sum)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _all() -> dict[int, tuple[int, float, int, str]]:
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = _stat(int(d))
            if s is not None:
                out[int(d)] = s
    return out


class Sampler(threading.Thread):
    """Samples RSS of the processes of the given process groups (label -> pgid) every 50 ms."""

    def __init__(self, groups: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.groups, self.stop_ev = dict(groups), threading.Event()
        self.peak: dict[tuple[str, int], int] = {}
        self.names: dict[tuple[str, int], str] = {}
        self.cpu_first: dict[tuple[str, int], float] = {}
        self.cpu_last: dict[tuple[str, int], float] = {}
        self.peak_sum: dict[str, int] = {}
        self.peak_pss_sum: dict[str, int] = {}
        self.peak_pss_portal = 0
        """The largest PSS of the worker's and the ``ops`` processes *at one moment* (their own peaks may fall
        apart in time: ``ops`` is largest before it hands over to its waiter, the worker during the copy)."""
        self.pg_cpu0 = self._pg_cpu()

    @staticmethod
    def _pg_cpu() -> float:
        return sum(s[1] for s in _all().values() if s[3] == "postgres")

    def add(self, label: str, pgid: int) -> None:
        self.groups[label] = pgid

    def sample(self) -> None:
        by_group = {g: label for label, g in self.groups.items()}
        sums: dict[str, int] = {}
        pss: dict[str, int] = {}
        for pid, (pgid, cpu, rss, name) in _all().items():
            label = by_group.get(pgid)
            if label is None:
                continue
            key = (label, pid)
            self.peak[key] = max(self.peak.get(key, 0), rss)
            self.names[key] = name
            self.cpu_first.setdefault(key, cpu)
            self.cpu_last[key] = cpu
            sums[label.split("#")[0]] = sums.get(label.split("#")[0], 0) + rss
            pss[label.split("#")[0]] = pss.get(label.split("#")[0], 0) + _pss(pid)
        for k, v in sums.items():
            self.peak_sum[k] = max(self.peak_sum.get(k, 0), v)
        for k, v in pss.items():
            self.peak_pss_sum[k] = max(self.peak_pss_sum.get(k, 0), v)
        self.peak_pss_portal = max(self.peak_pss_portal, pss.get("worker", 0) + pss.get("ops", 0))

    def run(self) -> None:
        while not self.stop_ev.wait(0.05):
            self.sample()

    def finish(self) -> dict:
        self.stop_ev.set()
        self.join()
        self.sample()
        procs = [{"who": label, "pid": pid, "name": self.names[(label, pid)],
                  "peak_rss_mb": round(self.peak[(label, pid)] / 2**20, 1),
                  "cpu_s": round(self.cpu_last[(label, pid)] - (self.cpu_first[(label, pid)] if label.startswith("worker") else 0), 2)}
                 for (label, pid) in sorted(self.peak)]
        return {"processes": procs, "peak_sum_mb": {k: round(v / 2**20, 1) for k, v in self.peak_sum.items()},
                "peak_pss_sum_mb": {k: round(v / 2**20, 1) for k, v in self.peak_pss_sum.items()},
                "peak_pss_portal_mb": round(self.peak_pss_portal / 2**20, 1),
                "server_cpu_s": round(self._pg_cpu() - self.pg_cpu0, 2)}


# --- set-up ---------------------------------------------------------------------------------------


def _env(queue: str, import_dir: Path) -> None:
    import environ

    environ.Env.read_env(ROOT / ".env", overwrite=False)
    admin = os.environ["MOP_TEST_ADMIN_URL"]
    os.environ["MOP_BENCH_ADMIN_URL"] = admin
    os.environ["DATABASE_URL"] = _with_db(admin, PORTAL_DB)
    os.environ["MOP_MIGRATE_DATABASE_URL"] = _with_db(admin, PORTAL_DB)
    os.environ["REDIS_URL"] = _with_db(os.environ["REDIS_URL"], REDIS_DB)
    os.environ.pop("CELERY_RESULT_BACKEND", None)
    os.environ["MOP_CELERY_QUEUE"] = queue
    os.environ["MOP_IMPORT_DIR"] = str(import_dir)
    os.environ["MOP_CLI_USER"] = "bench"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def _admin_exec(*statements: Any, db: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(_with_db(os.environ["MOP_BENCH_ADMIN_URL"], db), autocommit=True) as c:
        for s in statements:
            c.execute(s)


def _drop_databases(*names: str) -> None:
    """Drop the bench's databases (other benches built on this one call it too)."""
    from psycopg import sql

    _admin_exec(*(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(n)) for n in names))


def _recreate(name: str, ddl: str | None = None) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(os.environ["MOP_BENCH_ADMIN_URL"], autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_db(os.environ["MOP_BENCH_ADMIN_URL"], name)
    if ddl:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(ddl)
    return url


def _start_worker(name: str, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    start = log_path.stat().st_size if log_path.exists() else 0  # the log is appended to: read this start's lines
    log = open(log_path, "ab")  # noqa: SIM115 - the worker writes to it until it stops
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "celery"), "-A", "portal", "worker", "-Q", os.environ["MOP_CELERY_QUEUE"],
         "-c", str(CONCURRENCY[0]), "-l", "info", "-n", f"{name}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while " ready." not in log_path.read_bytes()[start:].decode(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _timed(cmd: list[str], sampler: Sampler, label: str, env: dict | None = None) -> tuple[float, int, str, float]:
    """Run a whole process (own process group, sampled); (wall s, exit code, output tail, CPU s of it and its children)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env or os.environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    sampler.add(label, proc.pid)
    chunks = []
    for line in proc.stdout:  # type: ignore[union-attr]
        chunks.append(line.decode(errors="replace"))
        LINE_TIMES.append((round(time.perf_counter() - t0, 2), chunks[-1][:60].rstrip()))
    out = "".join(chunks)
    _pid, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, proc.returncode, out[-1500:], ru.ru_utime + ru.ru_stime


CONCURRENCY = [2]
"""Prefork children per worker (``-c``): 2, as scripts/start.sh starts the worker, unless --concurrency says."""
LINE_TIMES: list[tuple[float, str]] = []
"""(seconds since the process started, line) of the last timed process's output lines, as they arrived."""


def _ops(*args: str) -> list[str]:
    return [PY, str(ROOT / "manage.py"), "ops", *args]


# --- the data sets ---------------------------------------------------------------------------------


def _dataset(kind: str, folder: Path, a) -> tuple[Path, str, tuple[str, ...]]:
    if kind == "billing":
        from gen_billing_sqlite import TABLES, TYPED_TARGET_DDL, generate

        path = folder / f"billing_{a.transactions}.sqlite"
        if not path.exists():
            generate(path, a.transactions, seed=1, clean=True)
        return path, TYPED_TARGET_DDL, TABLES
    from gen_orders_sqlite import TABLES, TYPED_TARGET_DDL, generate

    path = folder / f"orders_{a.items}.sqlite"
    if not path.exists():
        generate(path, a.items, seed=1)
    return path, TYPED_TARGET_DDL, TABLES


def _counts_seconds(sqlite_path: Path, pg_url: str, tables: tuple[str, ...]) -> tuple[float, int]:
    """Wall seconds of count(*) of every table on both sides (as a DBA would check), and the rows counted."""
    import psycopg
    from psycopg import sql

    t0 = time.perf_counter()
    total = 0
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    for t in tables:
        total += src.execute("SELECT count(*) FROM " + qi(t)).fetchone()[0]  # noqa: S608 - quoted by qi
    src.close()
    with psycopg.connect(pg_url) as c:
        for t in tables:
            c.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()
    return time.perf_counter() - t0, total


def _wait_verify_of_copy(copy_run_id: int, timeout: float = 1800) -> dict:
    from portal.ops.models import Run

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = Run.objects.get(pk=copy_run_id)
        vid = (r.progress_data or {}).get("verify_run_id")
        if vid:
            v = Run.objects.get(pk=vid)
            if not v.is_active:
                return {"verify_run": vid, "status": v.status,
                        "seconds": round((v.finished_at - v.started_at).total_seconds(), 2)}
        elif not r.is_active and r.status == "failed":
            return {"status": "no verification (copy failed)"}
        time.sleep(0.2)
    raise RuntimeError("the copy's verification did not end")


def bench(kind: str, a, folder: Path, workers: list[subprocess.Popen]) -> list[dict]:
    from portal.ops.models import Run

    path, ddl, tables = _dataset(kind, folder, a)
    db = f"mop_bench_user_{kind}_{TAG}"
    url = _recreate(db, ddl)
    name = f"bench-{kind}"
    env = {**os.environ, "BENCH_TARGET_URL": url.replace("postgres://", "postgresql://", 1)}
    if not _exists_target(name):
        subprocess.run(_ops("add-target", name, "--dsn-env", "BENCH_TARGET_URL", "--project",
                            str(ROOT / "examples" / "billing")), cwd=ROOT, env=env, check=True, capture_output=True)
    load = folder / f"{kind}.load"
    load.write_text(f"LOAD DATABASE FROM sqlite://{path} INTO {url}\nWITH data only, prefetch rows = 10000;\n")
    rows = []
    for i in range(a.runs):
        _recreate(db, ddl)
        s = Sampler({f"worker#{j}": w.pid for j, w in enumerate(workers)})
        s.start()
        epoch0 = time.time()
        LINE_TIMES.clear()
        wall, code, out, cpu = _timed(_ops("copy", name, "--sqlite", path.name, "--wait"), s, "ops")
        figures = s.finish()
        run = Run.objects.filter(operation=Run.Operation.COPY, target__name=name).order_by("-pk").first()
        phases = {**_phases(run, epoch0), "exit": round(wall, 2),
                  "ops_output": [LINE_TIMES[0], LINE_TIMES[-1]] if LINE_TIMES else []}
        ledger = copy_workers(run)
        verify = _wait_verify_of_copy(run.pk)
        rows.append({"data": kind, "round": i, "method": "portal ops copy --wait", "wall_s": round(wall, 2),
                     "exit": code, "status": run.status, "ops_cli_cpu_s": round(cpu, 2), **figures,
                     "ranges_by_worker": ledger, "auto_verify": verify, "phases": phases,
                     "worker_seconds": round((run.finished_at - run.started_at).total_seconds(), 2)})
        _print(rows[-1], out if code not in (0, 4) else "")
        _recreate(db, ddl)
        s = Sampler({f"worker#{j}": w.pid for j, w in enumerate(workers)})
        s.start()
        wall, code, out, cpu = _timed(["pgloader", "--quiet", str(load)], s, "pgloader")
        figures = s.finish()
        rows.append({"data": kind, "round": i, "method": "pgloader data only", "wall_s": round(wall, 2),
                     "exit": code, "pgloader_cpu_s": round(cpu, 2), **figures})
        _print(rows[-1], out if code else "")
    if a.copy_only:
        return rows
    # the verification a user asks for, on the portal's copy
    _recreate(db, ddl)
    subprocess.run(_ops("copy", name, "--sqlite", path.name, "--wait"), cwd=ROOT, capture_output=True)
    copy = Run.objects.filter(operation=Run.Operation.COPY, target__name=name).order_by("-pk").first()
    _wait_verify_of_copy(copy.pk)
    for i in range(a.runs):
        counts, counted = _counts_seconds(path, url, tables)
        s = Sampler({f"worker#{j}": w.pid for j, w in enumerate(workers)})
        s.start()
        wall, code, out, cpu = _timed(_ops("verify", name, "--sqlite", path.name, "--wait"), s, "ops")
        figures = s.finish()
        v = Run.objects.filter(operation=Run.Operation.VERIFY, target__name=name).order_by("-pk").first()
        worker_s = (v.finished_at - v.started_at).total_seconds()
        rows.append({"data": kind, "round": i, "method": "portal ops verify --wait", "wall_s": round(wall, 2),
                     "exit": code, "status": v.status, "worker_seconds": round(worker_s, 2),
                     "count_star_both_sides_s": round(counts, 3), "rows_counted": counted,
                     "x_count_wall": round(wall / counts, 1), "x_count_worker": round(worker_s / counts, 1),
                     "ops_cli_cpu_s": round(cpu, 2), **figures})
        _print(rows[-1], out if code not in (0, 4) else "")
    return rows


def _phases(run, epoch0: float) -> dict:
    """Seconds from the ``ops`` process start to: the run row, its claim by a worker, each log line, its end.

    Where a user's wall time goes that the worker's own time does not show (start-up, queue, finish, poll).
    """
    from portal.ops.models import RunLog

    def at(t) -> float | None:
        return None if t is None else round(t.timestamp() - epoch0, 2)

    lines = [(at(x.created_at), x.message[:90]) for x in RunLog.objects.filter(run=run).order_by("id")]
    return {"created": at(run.created_at), "started": at(run.started_at), "finished": at(run.finished_at),
            "log": lines}


def _exists_target(name: str) -> bool:
    from portal.ops.models import Target

    return Target.objects.filter(name=name).exists()


def copy_workers(run) -> dict[str, int]:
    """Worker name -> ranges it ran, from the copy's ledger."""
    out: dict[str, int] = {}
    ledger = ((run.progress_data or {}).get("ledger") or {}).get("ranges", {})
    for e in ledger.values():
        for r in e.get("runs", []):
            out[r["worker"]] = out.get(r["worker"], 0) + 1
    return out


def _print(row: dict, tail: str = "") -> None:
    print(json.dumps(row), flush=True)
    if tail:
        print(tail, flush=True)


def summary(rows: list[dict]) -> None:
    print("\n| data | round | method | wall s | x pgloader | peak RSS MB, busiest process | sum of peaks RSS / PSS MB "
          "| peak PSS MB at one moment | CPU s client / server (all postgres) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "verify" in r["method"]:
            continue
        base = next((x["wall_s"] for x in rows if x["data"] == r["data"] and x["round"] == r["round"]
                     and x["method"].startswith("pgloader")), None)
        mine = ("pgloader",) if r["method"].startswith("pgloader") else ("worker", "ops")
        peak = max((p["peak_rss_mb"] for p in r["processes"] if p["who"].split("#")[0] in mine), default=0)
        rss = round(sum(v for k, v in r["peak_sum_mb"].items() if k in mine), 1)
        pss = round(sum(v for k, v in r["peak_pss_sum_mb"].items() if k in mine), 1)
        client = sum(p["cpu_s"] for p in r["processes"] if p["who"].split("#")[0] in mine)
        together = r["peak_pss_portal_mb"] if "worker" in mine else pss
        print(f"| {r['data']} | {r['round']} | {r['method']} | {r['wall_s']} | "
              f"{round(base / r['wall_s'], 2) if base else ''} | {peak} | {rss} / {pss} | {together} | "
              f"{round(client, 1)} / {r['server_cpu_s']} |")
    print("\n| data | round | `ops verify --wait` wall s | worker s | count(*) both sides s | x count (wall / worker) | peak RSS MB per process | status |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        if "verify" in r["method"]:
            peak = max((p["peak_rss_mb"] for p in r["processes"]), default=0)
            print(f"| {r['data']} | {r['round']} | {r['wall_s']} | {r['worker_seconds']} | {r['count_star_both_sides_s']} | "
                  f"{r['x_count_wall']} / {r['x_count_worker']} | {peak} | {r['status']} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("billing", "orders", "both"), default="both")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=600_000)
    ap.add_argument("--concurrency", type=int, default=2, help="prefork children per worker (-c)")
    ap.add_argument("--copy-only", action="store_true", help="skip the final `ops verify --wait` rounds")
    ap.add_argument("--folder", default=None, help="where the generated files are kept (default: a temporary one)")
    a = ap.parse_args()
    CONCURRENCY[0] = a.concurrency
    keep = Path(a.folder) if a.folder else None
    tmp = tempfile.TemporaryDirectory(prefix="mop-bench-user-")
    folder = keep or Path(tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    _env(f"mop-bench-{uuid.uuid4().hex[:8]}", folder)
    _recreate(PORTAL_DB)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", uuid.uuid4().hex)
    from django.contrib.auth.models import Group

    for g in Group.objects.all():
        user.groups.add(g)
    workers = [_start_worker(f"bench{j + 1}-{TAG}", folder / f"worker{j + 1}.log") for j in range(a.workers)]
    rows: list[dict] = []
    try:
        for kind in (("billing", "orders") if a.data == "both" else (a.data,)):
            rows += bench(kind, a, folder, workers)
    finally:
        for w in workers:
            _stop(w)
        from django.db import connections

        connections.close_all()
        from psycopg import sql

        _admin_exec(*(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(d)) for d in
                      (PORTAL_DB, f"mop_bench_user_billing_{TAG}", f"mop_bench_user_orders_{TAG}")))
        tmp.cleanup()
    summary(rows)


if __name__ == "__main__":
    main()
