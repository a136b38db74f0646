"""Top statements and their deltas on a private PostgreSQL cluster that loads pg_stat_statements (the shared
test server does not): the engine reads them, and a chosen query's mean time drops once its index exists.

The cluster is started for this module (initdb as the ``postgres`` system user, a free port, trust on the
loopback only) and removed after; without initdb or that user the tests are skipped, saying why.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from migrations_ops import health
from migrations_ops.target import TargetConn

BIN = Path("/usr/lib/postgresql/15/bin")
QUERY = "SELECT count(*) FROM orders WHERE note = %s"


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@pytest.fixture(scope="module")
def pgss_cluster() -> Iterator[TargetConn]:
    if not (BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip("no PostgreSQL 15 initdb here to start a cluster with pg_stat_statements")
    root = Path(tempfile.mkdtemp(prefix="mop-pgss-"))
    shutil.chown(root, "postgres") if os.geteuid() == 0 else None
    data = root / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(_as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"),
                   check=True, capture_output=True)
    opts = (f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} "
            "-c shared_preload_libraries=pg_stat_statements -c fsync=off")
    subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"),
                                "-w", "start"), check=True, capture_output=True)
    try:
        yield TargetConn(host="127.0.0.1", port=port, dbname="postgres", user="postgres", password=None,
                         sslmode="disable")
    finally:
        subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _setup(t: TargetConn) -> None:
    with psycopg.connect(**t.connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        c.execute("DROP TABLE IF EXISTS orders")
        c.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
        c.execute("INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 100000) AS g")
        c.execute("ANALYZE orders")


def _run(t: TargetConn, n: int = 30) -> None:
    with psycopg.connect(**t.connect_kwargs("billing-web"), autocommit=True) as c:
        for i in range(n):
            c.execute(QUERY, (f"n{i}",))


def _chosen(deltas):
    return next(d for d in deltas if "orders" in d.query and "note" in d.query)


def test_a_new_index_makes_the_chosen_query_faster_in_the_comparison(pgss_cluster) -> None:
    _setup(pgss_cluster)
    r0 = health.take_reading(pgss_cluster)
    assert r0.statements_note == ""
    _run(pgss_cluster)
    r1 = health.take_reading(pgss_cluster)
    with psycopg.connect(**pgss_cluster.connect_kwargs("mop:run:1"), autocommit=True) as c:
        c.execute("CREATE INDEX orders_note_idx ON orders (note)")
    r2 = health.take_reading(pgss_cluster)
    _run(pgss_cluster)
    time.sleep(0.05)
    r3 = health.take_reading(pgss_cluster)

    before = health.window_figures([health.point_of(r0), health.point_of(r1)], r0.statements, r1.statements)
    after = health.window_figures([health.point_of(r2), health.point_of(r3)], r2.statements, r3.statements)
    b, a = _chosen(before.statements), _chosen(after.statements)
    assert b.calls == a.calls == 30
    assert "$1" in b.query  # normalized text, constants replaced
    assert a.mean_ms < b.mean_ms / 2, (b.mean_ms, a.mean_ms)
    assert after.start is not None and after.start - before.end >= dt.timedelta(0)
