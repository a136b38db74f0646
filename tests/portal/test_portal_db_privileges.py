"""The portal's role on the real portal database (set up by scripts/, as docker/ does) is least privilege.

These connect to DATABASE_URL's own database, not the test database: what is
checked is what ``scripts/lib.sh`` (``docker/postgres-init/portal-roles.psql``)
and the migrations run as the owner role made of it. scripts/test.sh migrates
it before the tests. Every refusal leaves the audit table as it was.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.conftest import admin_conn


def portal_conn_kwargs() -> dict:
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    return {"host": url.hostname, "port": url.port or 5432, "dbname": url.path.lstrip("/"),
            "user": urllib.parse.unquote(url.username or ""), "password": urllib.parse.unquote(url.password or ""),
            "application_name": "mop-tests-privileges", "connect_timeout": 5}


@pytest.fixture
def portal() -> Iterator[psycopg.Connection]:
    """The portal's role on the portal's real database."""
    with psycopg.connect(**portal_conn_kwargs()) as conn:
        exists = conn.execute("SELECT to_regclass('public.ops_auditevent') IS NOT NULL").fetchone()[0]
        assert exists, "the portal database is not migrated: scripts/test.sh migrates it as the owner role"
        conn.rollback()
        yield conn


def audit_state() -> tuple[int, str]:
    """Row count and a digest of every row of ops_auditevent, read as the maintenance superuser."""
    admin = admin_conn()
    kwargs = {**admin.connect_kwargs("mop-tests"), "dbname": portal_conn_kwargs()["dbname"]}
    with psycopg.connect(**kwargs) as c:
        row = c.execute("SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) "
                        "FROM ops_auditevent t").fetchone()
    return row[0], row[1]


def test_it_is_no_superuser_and_cannot_become_the_owner(portal) -> None:
    role = portal.execute(
        "SELECT rolsuper, rolcreaterole, rolreplication, rolcreatedb, rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user").fetchone()
    assert role == (False, False, False, False, False)
    owner, is_member = portal.execute(
        "SELECT pg_get_userbyid(c.relowner), pg_has_role(current_user, c.relowner, 'MEMBER') "
        "FROM pg_class c WHERE c.oid = 'ops_auditevent'::regclass").fetchone()
    assert owner != portal.info.user and not is_member


def test_it_owns_nothing_in_the_portal_database(portal) -> None:
    owned = portal.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
        "UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
        "UNION ALL SELECT datname FROM pg_database "
        "WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)").fetchall()
    assert owned == []


def test_it_may_only_select_and_insert_audit_events(portal) -> None:
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    held = {p: portal.execute("SELECT has_table_privilege('ops_auditevent', %s)", (p,)).fetchone()[0]
            for p in privileges}
    assert held == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False,
                    "TRUNCATE": False, "REFERENCES": False, "TRIGGER": False}
    assert portal.execute("SELECT has_sequence_privilege(pg_get_serial_sequence('ops_auditevent', 'id'), "
                          "'USAGE')").fetchone()[0]
    # Other tables: rows yes, structure no.
    assert portal.execute("SELECT has_table_privilege('ops_run', 'UPDATE'), has_table_privilege('ops_run', 'TRUNCATE'), "
                          "has_schema_privilege('public', 'CREATE'), "
                          "has_database_privilege(current_database(), 'CREATE')").fetchone() == (True, False, False, False)


REFUSED = [
    "UPDATE ops_auditevent SET actor = 'mallory'",
    "DELETE FROM ops_auditevent",
    "TRUNCATE ops_auditevent",
    "ALTER TABLE ops_auditevent DISABLE TRIGGER ALL",
    "ALTER TABLE ops_auditevent DISABLE TRIGGER ops_auditevent_no_update_delete",
    "SET session_replication_role = replica",
    "DROP TRIGGER ops_auditevent_no_update_delete ON ops_auditevent",
    "CREATE OR REPLACE FUNCTION ops_auditevent_append_only() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NEW; END $$",
    "CREATE TABLE public.mop_intruder (id int)",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_it_is_refused_every_way_around_the_audit_trigger(portal, statement: str) -> None:
    before = audit_state()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        portal.execute(statement)
    portal.rollback()
    assert audit_state() == before


def test_it_cannot_set_role_to_the_owner(portal) -> None:
    owner = portal.execute("SELECT pg_get_userbyid(relowner) FROM pg_class "
                           "WHERE oid = 'ops_auditevent'::regclass").fetchone()[0]
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied to set role"):
        portal.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner)))
