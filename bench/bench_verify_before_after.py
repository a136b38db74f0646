"""In-process: the engine's whole-database ``verify()`` of two checkouts, interleaved with ``count(*)``.

    .venv/bin/python bench/bench_verify_before_after.py --before DIR --sqlite FILE --url URL [--runs 3]

``DIR`` holds an earlier ``migrations_ops`` with its C helpers built, e.g.::

    git archive COMMIT migrations_ops | tar -x -C DIR
    gcc -shared -fPIC -O2 -I$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])') \\
        DIR/migrations_ops/verify/_pghash.c -lsqlite3 -o DIR/migrations_ops/verify/_pghash$(python -c \\
        'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')

``URL`` is a target already holding a copy of ``FILE`` (e.g. made by ``ops copy`` or ``copy_database``).
Per round: ``count(*)`` of every table on both sides, ``verify()`` of the earlier engine in a child
process, ``count(*)`` again, ``verify()`` of this checkout in a child process; default options on
both. Labelled in-process: no worker, no portal. Prints each round with the load average.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
CHILD = r"""
import sys, time, json
sys.path.insert(0, sys.argv[1])
import migrations_ops
from migrations_ops.target import TargetConn
from migrations_ops.verify import verify
t0 = time.perf_counter()
report = verify(TargetConn.from_url(sys.argv[2]), sys.argv[3])
print(json.dumps({"s": time.perf_counter() - t0, "from": migrations_ops.__file__, "status": report.status}))
"""


def counts(path: str, url: str, tables: list[str]) -> float:
    """Wall seconds of count(*) of every table, SQLite then PostgreSQL."""
    t0 = time.perf_counter()
    lite = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    for t in tables:
        lite.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t)).as_string()).fetchone()
    lite.close()
    with psycopg.connect(url) as c:
        for t in tables:
            c.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--sqlite", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    lite = sqlite3.connect(f"file:{a.sqlite}?mode=ro", uri=True)
    tables = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    lite.close()
    for rnd in range(a.runs):
        out = {}
        for who, root in (("before", a.before), ("after", str(ROOT))):
            c = counts(a.sqlite, a.url, tables)
            r = json.loads(subprocess.run([sys.executable, "-c", CHILD, root, a.url, a.sqlite], capture_output=True,
                                          text=True, cwd="/tmp", check=True).stdout)
            if not r["from"].startswith(str(Path(root).resolve())):
                raise RuntimeError(f"imported {r['from']}, not {root}")
            out[who] = {"verify_s": round(r["s"], 2), "count_s": round(c, 3), "x_count": round(r["s"] / c, 1),
                        "status": r["status"]}
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        print(json.dumps({"file": Path(a.sqlite).name, "round": rnd, "load": load, **out}), flush=True)


if __name__ == "__main__":
    main()
