"""Connections to targets refuse cleartext and md5 password requests unless a target allows them."""

from __future__ import annotations

import dataclasses

import psycopg
import pytest

from migrations_ops.errors import AuthenticationFailed, AuthMethodRefused, InsecureLibpq
from migrations_ops.target import REQUIRE_AUTH_MIN_LIBPQ, TargetConn, connect
from tests.fake_pg import fake_pg_server

PASSWORD = "tg-pw-never-sent-0"


def test_it_uses_a_libpq_that_can_refuse_cleartext():
    assert psycopg.pq.version() >= REQUIRE_AUTH_MIN_LIBPQ


def test_it_sends_no_password_to_a_server_asking_for_it_in_cleartext():
    with fake_pg_server() as server:
        for sslmode in ("disable", "prefer"):
            target = TargetConn(host=server.host, port=server.port, dbname="db", user="app",
                                password=PASSWORD, sslmode=sslmode)
            with pytest.raises(AuthMethodRefused) as err:
                connect(target, "mop-tests")
            assert "cleartext" in str(err.value) and "scram-sha-256" in err.value.explanation.lower()
    assert [c.startup.get("user") for c in server.captures] == ["app", "app"]
    assert server.passwords == []


def test_it_sends_nothing_from_pgpass_or_pgpassword_when_the_target_has_no_password(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with fake_pg_server() as server:
        target = TargetConn(host=server.host, port=server.port, dbname="db", user="app", sslmode="disable")
        with pytest.raises(AuthMethodRefused):
            connect(target, "mop-tests")
    assert server.captures and server.passwords == []


def test_it_sends_the_password_only_when_the_target_allows_password_auth():
    with fake_pg_server() as server:
        legacy = TargetConn(host=server.host, port=server.port, dbname="db", user="app",
                            password=PASSWORD, sslmode="disable", require_auth="")
        with pytest.raises(AuthenticationFailed) as err:
            connect(legacy, "mop-tests")
        assert PASSWORD not in str(err.value)
    assert server.passwords == [PASSWORD]


def test_it_connects_to_the_real_cluster_with_scram(target_db):
    assert target_db.connect_kwargs("x")["require_auth"] == "scram-sha-256"
    with connect(target_db, "mop-tests") as conn:
        row = conn.execute("SELECT current_database(), inet_server_addr() IS NOT NULL").fetchone()
    assert row == (target_db.dbname, True)


def test_it_refuses_a_scram_server_with_a_wrong_password_without_leaking_it(target_db):
    wrong = dataclasses.replace(target_db, password="wrong-" + PASSWORD)
    with pytest.raises(AuthenticationFailed) as err:
        connect(wrong, "mop-tests")
    assert PASSWORD not in str(err.value) and err.value.code == "authentication_failed"


def test_it_refuses_to_connect_with_a_libpq_that_cannot_enforce_require_auth(monkeypatch):
    monkeypatch.setattr(psycopg.pq, "version", lambda: 150008)
    with fake_pg_server() as server:
        target = TargetConn(host=server.host, port=server.port, dbname="db", user="app", password=PASSWORD)
        with pytest.raises(InsecureLibpq) as err:
            connect(target, "mop-tests")
    assert err.value.code == "insecure_libpq" and "Upgrade psycopg" in err.value.explanation
    assert server.captures == []
