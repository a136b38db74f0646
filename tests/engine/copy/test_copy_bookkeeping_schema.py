"""The copy's bookkeeping schema ``mop`` stays out of the ``"$user"`` search path of a role named ``mop``.

With the default ``search_path`` (``"$user", public``) a role named ``mop``
that may use schema ``mop`` creates its unqualified tables there. The copy
revokes the schema from such a role (not its own); the test shows the table
landing in ``mop`` before and in ``public`` after the next copy.
"""

from __future__ import annotations

import psycopg
from copy_helpers import pg_exec

from migrations_ops.copy import CopyOptions, copy_database, preflight
from migrations_ops.copy.bookkeeping import advice


def _schema_of(target, table: str) -> str:
    return pg_exec(target, f"SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = '{table}'")[0][0]


def test_a_role_named_mop_gets_its_tables_in_public_after_a_copy(make_sqlite, target_db) -> None:
    path = make_sqlite("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);", {"t": [(1, "a"), (2, "b")]})
    pg_exec(target_db, "CREATE TABLE t (id bigint PRIMARY KEY, v text)")
    created = not pg_exec(target_db, "SELECT 1 FROM pg_roles WHERE rolname = 'mop'")
    if created:
        pg_exec(target_db, "CREATE ROLE mop NOLOGIN")
    try:
        copy_database(path, target_db, CopyOptions(), copy_id="first")
        # someone let role mop use the bookkeeping schema: "$user" now resolves to it
        pg_exec(target_db, "GRANT USAGE, CREATE ON SCHEMA mop TO mop; GRANT USAGE, CREATE ON SCHEMA public TO mop;"
                           "SET ROLE mop; CREATE TABLE before_copy (x int); RESET ROLE")
        assert _schema_of(target_db, "before_copy") == "mop"
        assert not [p for p in preflight(path, target_db).problems if "search_path" in p]  # the copy fixes it itself
        events = []
        copy_database(path, target_db, CopyOptions(if_not_empty="truncate"), copy_id="second",
                      progress=events.append)
        assert any("revoked schema mop from role mop" in e.message for e in events)
        pg_exec(target_db, "SET ROLE mop; CREATE TABLE after_copy (x int); RESET ROLE")
        assert _schema_of(target_db, "after_copy") == "public"
        assert pg_exec(target_db, "SELECT has_schema_privilege('mop', 'mop', 'USAGE')") == [(False,)]
        assert pg_exec(target_db, "SELECT count(*) FROM mop.copy_run") == [(2,)]  # the copy's own state is intact
    finally:
        pg_exec(target_db, "DROP TABLE IF EXISTS mop.before_copy, public.after_copy;"
                           "REVOKE ALL ON SCHEMA public FROM mop")
        if created:
            with psycopg.connect(**target_db.connect_kwargs("mop-tests"), autocommit=True) as c:
                c.execute("DROP ROLE mop")


def test_the_advice_names_the_statement_for_the_copys_own_role() -> None:
    line = advice("billing dev")
    assert 'ALTER ROLE mop IN DATABASE "billing dev" SET search_path = public' in line
