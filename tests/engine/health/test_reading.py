"""A health reading of a real database: counters and their deltas, unused and duplicate indexes, tables never
analyzed, and the plain message when pg_stat_statements is missing."""

from __future__ import annotations

import psycopg
import pytest

from migrations_ops import health
from migrations_ops.health.models import HealthReading
from tests.engine.health.helpers import build, load


@pytest.fixture
def health_db(make_database):
    target = make_database("health")
    build(target)
    return target


def test_it_reads_sizes_indexes_and_tables_to_analyze(health_db) -> None:
    r = health.take_reading(health_db)
    assert r.database.datname == health_db.dbname and r.database.size_bytes > 0
    assert [t.table for t in r.largest_tables][:1] == ["orders"]
    assert "orders_note_unused" in [i.index for i in r.unused_indexes]
    assert "orders_pkey" not in [i.index for i in r.unused_indexes]  # backs a constraint
    assert r.index_count == 5
    assert [d.indexes for d in r.duplicate_indexes] == [["orders_customer_a", "orders_customer_b"]]
    never = {m.table for m in r.maintenance if m.never_analyzed}
    assert "fresh" in never and "orders" not in never
    assert HealthReading.from_json(r.to_json()) == r


def test_it_counts_commits_and_a_rollback_storm_between_two_readings(health_db) -> None:
    first = health.take_reading(health_db)
    load(health_db, inserts=40, rollbacks=25)
    second = None
    for _ in range(50):  # the statistics collector reports a backend's counters when it goes idle
        second = health.take_reading(health_db)
        if second.database.xact_rollback - first.database.xact_rollback >= 25:
            break
    r = health.rates(health.point_of(first), health.point_of(second))
    assert second.database.xact_rollback - first.database.xact_rollback >= 25
    assert second.database.xact_commit - first.database.xact_commit >= 40
    assert r.tps and r.tps > 0
    assert r.rollback_rate is not None and 0 < r.rollback_rate < 1


def test_it_says_how_to_enable_pg_stat_statements_when_it_cannot_read_it(health_db) -> None:
    r = health.take_reading(health_db)
    if r.statements_note:
        assert r.statements == ()
        assert "shared_preload_libraries" in r.statements_note
        assert "CREATE EXTENSION pg_stat_statements" in r.statements_note
    else:  # a cluster with the extension loaded: statements of this database are read
        assert all(s.calls > 0 for s in r.statements)


def test_it_refuses_bad_limits(health_db) -> None:
    with pytest.raises(ValueError, match="top must be positive"):
        health.take_reading(health_db, top=0)


def test_the_chart_links_each_point_and_escapes_titles() -> None:
    import datetime as dt

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    pts = [health.ChartPoint(t0 + dt.timedelta(minutes=i), v, f"/s/{i}") for i, v in enumerate([1, None, 3])]
    svg = health.line_chart("<b>x</b>", pts, unit="", limit=2)
    assert "&lt;b&gt;x&lt;/b&gt;" in svg and "<b>" not in svg
    assert 'href="/s/0"' in svg and 'href="/s/2"' in svg and 'href="/s/1"' not in svg
    assert "stroke-dasharray" in svg  # the threshold
    assert "no readings" in health.line_chart("t", [])


def test_a_role_without_settings_privileges_gets_a_reading_and_a_plain_note(health_db) -> None:
    """The example application role may not read shared_preload_libraries: the reading still comes, and says why
    no statement times are shown (it once failed whole, and the periodic task with it)."""
    import dataclasses
    import uuid

    from psycopg import sql

    role, password = f"mopt_plain_{uuid.uuid4().hex[:8]}", "plain-role-pw-0"
    with psycopg.connect(**health_db.connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        c.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(health_db.dbname),
                                                                      sql.Identifier(role)))
    try:
        r = health.take_reading(dataclasses.replace(health_db, user=role, password=password))
        assert r.database.datname == health_db.dbname and r.statements == ()
        assert "pg_stat_statements" in r.statements_note
    finally:
        with psycopg.connect(**health_db.connect_kwargs("mop-tests"), autocommit=True) as c:
            c.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            c.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
