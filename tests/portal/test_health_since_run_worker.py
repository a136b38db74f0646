"""'Since this run' around a real migration run by the worker: a revision that adds the index a chosen query
needs. With pg_stat_statements on the target the query's mean time drops in the comparison; without it the
comparison still shows the figures and says plainly that no statement could be compared (this cluster's case
is printed, so the test log tells which path ran)."""

from __future__ import annotations

import datetime as dt
import io

import psycopg
import pytest
from django.core.management import call_command

from portal.health import services as health
from portal.ops import services
from portal.ops.models import Run
from tests.engine.health.helpers import build
from tests.factories import AlembicProjectFactory, target_for
from tests.portal.admin_helpers import write_revision
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker
QUERY = "SELECT count(*) FROM orders WHERE note = %s"


def _index_project(tmp_path):
    root = tmp_path / "idx"
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text("")
    write_revision(root / "versions", "a1a1a1a1a1a1", None, "index orders note",
                   "op.execute('CREATE INDEX orders_note_idx ON orders (note)')")
    return root


def _queries(conn_info, n: int = 40) -> None:
    with psycopg.connect(**conn_info.connect_kwargs("billing-web"), autocommit=True) as c:
        for i in range(n):
            c.execute(QUERY, (f"n{i}",))


def test_a_migration_that_adds_an_index_shows_in_the_comparison(transactional_db, celery_worker_proc,
                                                                 make_database, dba, tmp_path) -> None:
    conn = make_database("since")
    build(conn)
    with psycopg.connect(**conn.connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute("INSERT INTO orders SELECT g, g % 100, 'n' || g FROM generate_series(5001, 60000) AS g")
        c.execute("DROP INDEX orders_note_unused")
        c.execute("ANALYZE orders")
        has_pgss = c.execute("SELECT current_setting('shared_preload_libraries') LIKE %s",
                             ("%pg_stat_statements%",)).fetchone()[0]
        if has_pgss:
            c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    print("pg_stat_statements on the test cluster:", "loaded" if has_pgss else "MISSING (plain message checked)")
    target = target_for(conn, AlembicProjectFactory(name="idx", location=str(_index_project(tmp_path))),
                        name="since-worker")
    health.take(target)
    _queries(conn)
    health.take(target)
    run = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head", user=dba),
                            timeout=120)
    assert run.status == Run.Status.SUCCEEDED, run.error
    health.take(target)
    _queries(conn)
    health.take(target)

    s = health.since_run(run, window=dt.timedelta(minutes=5))
    assert (s.before.readings, s.after.readings) == (2, 2)
    out = io.StringIO()
    call_command("ops", "health", "since-worker", "--since", str(run.pk), stdout=out)
    if has_pgss:
        chosen = [x for x in s.statements if "orders" in x["query"] and "note" in x["query"]]
        assert chosen and chosen[0]["mean_ms_after"] < chosen[0]["mean_ms_before"]
    else:
        assert s.statements == []
        assert "pg_stat_statements is not enabled" in out.getvalue()
        note = health.reading_of(target.health_snapshots.latest()).statements_note
        assert "shared_preload_libraries" in note
