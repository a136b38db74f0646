"""A second copy into a filled target: the pre-flight counts the rows, and refuse / truncate / append do what they say.

The verdict of each summary is checked too: a copy that imported nothing ends
``failed``, one with rejects ``succeeded_rejects``, and the phases add up to
the call's wall time.
"""

from __future__ import annotations

import doctest
import json
import time

import pytest
from copy_helpers import pg_exec

from migrations_ops.copy import (
    CopyOptions,
    TargetNotEmpty,
    TruncateBlocked,
    copy_database,
    list_rejects,
    preflight,
)
from migrations_ops.copy import summary as summary_module

DDL = ("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);"
       "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), total INTEGER);")
ROWS = {"users": [(i, f"u{i}@x") for i in range(1, 41)],
        "orders": [(i, 1 + i % 40, i * 10) for i in range(1, 101)]}


@pytest.fixture
def filled(make_sqlite, target_db):
    """The target after a first full copy of the file (40 users, 100 orders)."""
    path = make_sqlite(DDL, ROWS)
    pg_exec(target_db, "CREATE TABLE users (id bigint PRIMARY KEY, email text);"
                       "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), total int)")
    first = copy_database(path, target_db, CopyOptions(), copy_id="first")
    assert first.outcome[0] == "succeeded" and first.rows_imported == 140
    return path, target_db


def counts(target) -> tuple[int, int]:
    return pg_exec(target, "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM orders)")[0]


def test_it_shows_target_rows_in_the_preflight(filled) -> None:
    path, target = filled
    report = preflight(path, target)
    assert {t.name: t.target_rows for t in report.tables} == {"users": 40, "orders": 100}
    assert dict(report.non_empty_tables) == {"users": 40, "orders": 100}
    assert any("users is not empty (40 rows)" in p and "truncate" in p and "append" in p for p in report.problems)
    assert sorted(report.to_dict()["non_empty_tables"]) == [["orders", 100], ["users", 40]]


def test_it_refuses_by_default_and_writes_nothing(filled) -> None:
    path, target = filled
    pg_exec(target, "UPDATE users SET email = 'kept' WHERE id = 1")
    with pytest.raises(TargetNotEmpty) as exc:
        copy_database(path, target, CopyOptions(), copy_id="second")
    msg = str(exc.value)
    assert "public.users (40 rows)" in msg and "public.orders (100 rows)" in msg
    assert "--if-not-empty truncate" in msg and "--if-not-empty append" in msg and "Nothing was written" in msg
    assert exc.value.fields["tables"] == [["public.orders", 100], ["public.users", 40]]
    assert counts(target) == (40, 100)
    assert pg_exec(target, "SELECT email FROM users WHERE id = 1") == [("kept",)]
    assert pg_exec(target, "SELECT copy_id FROM mop.copy_run ORDER BY copy_id") == [("first",)]
    fks = pg_exec(target, "SELECT conname FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'")
    assert len(fks) == 1


def test_it_truncates_all_tables_in_the_plan_and_records_the_counts(filled) -> None:
    path, target = filled
    pg_exec(target, "INSERT INTO users VALUES (999, 'only in the target')")
    summary = copy_database(path, target, CopyOptions(if_not_empty="truncate"), copy_id="again")
    assert summary.outcome == ("succeeded", "all 140 rows imported")
    assert counts(target) == (40, 100)
    assert pg_exec(target, "SELECT count(*) FROM users WHERE id = 999") == [(0,)]
    [(truncated,)] = pg_exec(target, "SELECT truncated FROM mop.copy_run WHERE copy_id = 'again'")
    assert truncated == {"public.users": 41, "public.orders": 100}
    # a resume of the same copy re-reads its plan: nothing is truncated again
    pg_exec(target, "INSERT INTO users VALUES (1000, 'after the copy')")
    copy_database(path, target, CopyOptions(if_not_empty="truncate"), copy_id="again")
    assert pg_exec(target, "SELECT count(*) FROM users WHERE id = 1000") == [(1,)]


def test_it_refuses_to_truncate_a_table_another_table_references(filled) -> None:
    path, target = filled
    pg_exec(target, "CREATE TABLE notes (id int PRIMARY KEY, user_id bigint REFERENCES users (id));"
                    "INSERT INTO notes VALUES (1, 1)")
    with pytest.raises(TruncateBlocked) as exc:
        copy_database(path, target, CopyOptions(if_not_empty="truncate"), copy_id="blocked")
    assert "public.users" in str(exc.value)
    assert counts(target) == (40, 100)
    assert pg_exec(target, "SELECT count(*) FROM mop.copy_run WHERE copy_id = 'blocked'") == [(0,)]


def test_it_appends_and_names_duplicates_as_rejects(make_sqlite, filled) -> None:
    path, target = filled
    pg_exec(target, "DELETE FROM orders WHERE id > 90")
    summary = copy_database(path, target, CopyOptions(if_not_empty="append"), copy_id="append")
    assert counts(target) == (40, 100)
    assert summary.rows_imported == 10 and summary.rows_rejected == 130
    assert summary.rejects_by_table == {"users": {"duplicate_key": 40}, "orders": {"duplicate_key": 90}}
    status, message = summary.outcome
    assert status == "succeeded_rejects"
    assert message == "10 of 140 rows imported, 130 rejected (duplicate_key 130)"
    keys = {r.key for r in list_rejects(target, "append", "orders")}
    assert keys == {str(i) for i in range(1, 91)}


def test_it_fails_a_copy_that_imported_nothing(filled) -> None:
    path, target = filled
    summary = copy_database(path, target, CopyOptions(if_not_empty="append"), copy_id="nothing")
    assert summary.rows_imported == 0 and summary.rows_read == 140
    assert summary.outcome == ("failed", "0 of 140 rows imported: all rejected as duplicate keys "
                                         "(the target already held them)")
    assert json.loads(json.dumps(summary.to_dict()))["rejects_by_table"]["users"] == {"duplicate_key": 40}


def test_its_phases_add_up_to_the_wall_time(make_sqlite, target_db) -> None:
    path = make_sqlite(DDL, ROWS)
    pg_exec(target_db, "CREATE TABLE users (id bigint PRIMARY KEY, email text);"
                       "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), total int)")
    t0 = time.time()
    summary = copy_database(path, target_db, CopyOptions(), copy_id="timed")
    wall = time.time() - t0
    names = [n for n, _ in summary.phases]
    assert names[:2] == ["planning", "copy"] and names[-1] == "post-load other"
    assert {"indexes", "foreign keys", "sequences", "analyze"} <= set(names)
    assert all(s >= 0 for _, s in summary.phases)
    assert abs(summary.total_seconds - wall) < 0.05, (summary.phases, wall)


def test_it_passes_the_summary_doctests() -> None:
    """The verdict, the wall-time phases and the rejects text, on fixed figures."""
    result = doctest.testmod(summary_module)
    assert result.attempted >= 8 and result.failed == 0
