"""Appending into a filled target table with no key: refused unless acknowledged, and then named.

With a key, duplicates become rejects; without one nothing can refuse them,
so ``append`` would silently double the rows. The pre-flight says so with the
counts for the mode chosen, ``append`` refuses, ``append_duplicates`` appends
and the summary's outcome is amber and names the tables.
"""

from __future__ import annotations

import pytest
from copy_helpers import pg_exec

from migrations_ops.copy import CopyOptions, KeylessAppend, copy_database, format_summary, preflight

DDL = "CREATE TABLE readings (sensor TEXT, value INTEGER); CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);"
ROWS = {"readings": [(f"s{i % 3}", i) for i in range(30)], "users": [(i, f"u{i}") for i in range(1, 11)]}


@pytest.fixture
def filled(make_sqlite, target_db):
    path = make_sqlite(DDL, ROWS)
    pg_exec(target_db, "CREATE TABLE readings (sensor text, value int); CREATE TABLE users (id bigint PRIMARY KEY, email text)")
    assert copy_database(path, target_db, CopyOptions(), copy_id="first").outcome[0] == "succeeded"
    return path, target_db


def test_the_preflight_line_follows_the_chosen_mode(filled) -> None:
    path, target = filled
    by_mode = {}
    for mode in ("refuse", "truncate", "append", "append_duplicates"):
        report = preflight(path, target, options=CopyOptions(if_not_empty=mode))
        by_mode[mode] = [p for p in report.problems if "readings is not empty" in p or "users is not empty" in p]
        assert report.table("readings").target_keyless and not report.table("users").target_keyless
    refuse, truncate, append, dup = (" | ".join(by_mode[m]) for m in ("refuse", "truncate", "append",
                                                                         "append_duplicates"))
    assert "the copy is refused (if_not_empty=refuse)" in refuse and "no key, so append duplicates" in refuse
    assert "if_not_empty=truncate will empty it first (30 rows removed" in truncate
    assert "refused unless" not in truncate and "refused unless" not in dup
    assert "readings is not empty (30 rows): if_not_empty=append into a table with no key" in append
    assert "will be DUPLICATED" in append and "refused unless you acknowledge it" in append
    assert "users is not empty (10 rows): if_not_empty=append keeps its rows" in append
    assert "you acknowledged it (if_not_empty=append_duplicates)" in dup


def test_append_into_a_keyless_table_is_refused_and_writes_nothing(filled) -> None:
    path, target = filled
    with pytest.raises(KeylessAppend) as exc:
        copy_database(path, target, CopyOptions(if_not_empty="append"), copy_id="second")
    assert "public.readings (30 rows)" in str(exc.value) and "append_duplicates" in str(exc.value)
    assert exc.value.fields["tables"] == [["public.readings", 30]]
    assert pg_exec(target, "SELECT count(*) FROM readings") == [(30,)]
    assert pg_exec(target, "SELECT copy_id FROM mop.copy_run ORDER BY copy_id") == [("first",)]


def test_append_duplicates_is_amber_and_names_the_tables(filled) -> None:
    path, target = filled
    s = copy_database(path, target, CopyOptions(if_not_empty="append_duplicates"), copy_id="second")
    assert pg_exec(target, "SELECT count(*) FROM readings") == [(60,)]
    assert s.duplicated == {"public.readings": 30}
    status, why = s.outcome
    assert status == "succeeded_rejects"
    assert "their rows may now be there twice: public.readings (30 rows held)" in why
    assert "DUPLICATED: appended into keyless table public.readings, which already held 30 rows" in format_summary(s)
    [(kept,)] = pg_exec(target, "SELECT appended_keyless FROM mop.copy_run WHERE copy_id = 'second'")
    assert kept == {"public.readings": 30}
