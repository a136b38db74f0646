"""Risk on the live target: the same statement is low on an empty table and critical on a big, busy one."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from migrations_ops.risk import CRITICAL, LOW, assess_target
from migrations_ops.risk.live import read_table_stats
from migrations_ops.target import TargetConn

PLAN = """BEGIN;
-- Running upgrade  -> a1
ALTER TABLE transactions ALTER COLUMN amount TYPE bigint;
UPDATE alembic_version SET version_num='a1' WHERE alembic_version.version_num = '0';
COMMIT;
"""


def _exec(target: TargetConn, *statements: str) -> None:
    with psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True) as c:
        for s in statements:
            c.execute(s)


def test_it_rates_a_type_change_on_an_empty_table_low(target_db):
    _exec(target_db, "CREATE TABLE transactions (id bigserial PRIMARY KEY, amount int NOT NULL)")
    risk = assess_target(target_db, PLAN)
    assert risk.level == LOW
    assert [t.name for t in risk.tables] == ["transactions"]
    assert risk.tables[0].rows == 0


def test_it_rates_a_type_change_on_a_big_busy_table_critical_with_its_figures(target_db):
    _exec(target_db, "CREATE TABLE transactions (id bigserial PRIMARY KEY, amount int NOT NULL)",
          "INSERT INTO transactions (amount) SELECT g FROM generate_series(1, 1000000) g",
          "ANALYZE transactions")
    holder = psycopg.connect(**target_db.connect_kwargs("mop-tests-app"))
    holder.execute("SELECT count(*) FROM transactions WHERE id = 1")  # an open transaction using the table
    try:
        risk = assess_target(target_db, PLAN)
    finally:
        holder.close()
    assert risk.level == CRITICAL
    (reason,) = risk.steps[0].reasons
    assert reason.table == "transactions"
    assert "ALTER COLUMN TYPE rewrites transactions (amount)" in reason.text
    assert "1.0 M rows" in reason.text and "ACCESS EXCLUSIVE" in reason.text
    assert "1 session uses it now" in reason.text
    assert risk.tables[0].rows >= 990_000 and risk.tables[0].total_bytes > 30 * 1024**2


def test_it_rates_a_table_created_earlier_in_the_plan_low(target_db):
    plan = PLAN.replace("-- Running upgrade  -> a1\n",
                        "-- Running upgrade  -> a1\nCREATE TABLE transactions (id int, amount int);\n")
    risk = assess_target(target_db, plan)
    assert risk.level == LOW and risk.created_tables == ("transactions",) and risk.tables == ()


def test_it_measures_the_write_rate_between_two_readings(target_db):
    _exec(target_db, "CREATE TABLE hits (id bigserial PRIMARY KEY, n int)")
    stop = threading.Event()

    def writer() -> None:
        with psycopg.connect(**target_db.connect_kwargs("mop-tests-writer"), autocommit=True) as c:
            while not stop.is_set():
                c.execute("INSERT INTO hits (n) SELECT g FROM generate_series(1, 200) g")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        time.sleep(1.5)  # statistics reach pg_stat_user_tables at most once a second per backend
        stats = read_table_stats(target_db, ["hits"], sample_seconds=1.2)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert stats["hits"].writes_per_s > 100


@pytest.mark.parametrize("name", ["public.transactions", "transactions"])
def test_it_finds_tables_by_bare_or_qualified_name(target_db, name):
    _exec(target_db, "CREATE TABLE transactions (id int)")
    assert read_table_stats(target_db, [name], sample_seconds=0)[name].qualified == "public.transactions"
