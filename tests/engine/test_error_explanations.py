"""Each error code has its own explanation, and it fits what happened.

Before: a missing database read "The database server did not answer", an
ambiguous prefix "No revision file has this id", a server shutdown "fix the
revision". One test per code, each against the real server.
"""

from __future__ import annotations

import dataclasses
import socket

import pytest

from migrations_ops.errors import (
    AmbiguousRevision,
    AuthMethodRefused,
    ConnectionLost,
    DatabaseNotFound,
    HostNotAllowed,
    MigrationFailed,
    RevisionNotFound,
    TargetUnreachable,
    TLSFailed,
)
from migrations_ops.schema.plan import make_plan
from migrations_ops.schema.runner import run_plan
from migrations_ops.target import TargetConn, connect
from tests.engine.alembic_factory import Factory, linear
from tests.fake_pg import fake_pg_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_it_explains_a_missing_database_as_missing_not_as_silence(target_db):
    missing = dataclasses.replace(target_db, dbname=target_db.dbname + "_nope")
    with pytest.raises(DatabaseNotFound) as err:
        connect(missing, "mop-tests")
    assert err.value.code == "database_not_found"
    assert missing.dbname in str(err.value)
    assert "has no database of this name" in err.value.explanation
    assert "did not answer" not in err.value.explanation


def test_it_explains_a_closed_port_as_a_server_that_did_not_answer():
    target = TargetConn(host="127.0.0.1", port=_free_port(), dbname="x", user="app", password="pw")
    with pytest.raises(TargetUnreachable) as err:
        connect(target, "mop-tests", connect_timeout=2)
    assert err.value.code == "target_unreachable" and "did not answer" in err.value.explanation
    assert "accepting TCP/IP connections" in str(err.value)


def test_it_explains_a_cleartext_request_as_an_auth_method_refused():
    with fake_pg_server() as server:
        target = TargetConn(host=server.host, port=server.port, dbname="x", user="app", password="pw",
                            sslmode="disable")
        with pytest.raises(AuthMethodRefused) as err:
            connect(target, "mop-tests")
    assert err.value.code == "auth_method_refused"
    assert "nothing was sent" in err.value.explanation and "allow password auth" in err.value.explanation


def test_it_explains_an_ambiguous_prefix_by_listing_the_candidates(tmp_path, target_db):
    f = Factory(tmp_path)
    f.table_rev("abcd1111", None, "t1")
    f.table_rev("abcd2222", "abcd1111", "t2")
    with pytest.raises(AmbiguousRevision) as err:
        make_plan(target_db, f.resolved(), "upgrade", "abcd")
    assert err.value.code == "ambiguous_revision"
    assert err.value.fields["candidates"] == ["abcd1111", "abcd2222"]
    assert "Type more characters" in err.value.explanation
    assert "No revision file" not in err.value.explanation


def test_it_keeps_no_revision_file_for_an_id_that_does_not_exist(tmp_path, target_db):
    f = linear(tmp_path, 2)
    with pytest.raises(RevisionNotFound) as err:
        make_plan(target_db, f.resolved(), "upgrade", "zzzz9999")
    assert err.value.code == "revision_not_found" and "No revision file" in err.value.explanation


def test_it_explains_a_terminated_session_as_a_lost_connection_not_a_bad_revision(tmp_path, target_db):
    f = Factory(tmp_path)
    f.table_rev("r1", None, "t1")
    f.rev("r2", "r1", "the server goes away", upgrade='op.execute("SELECT pg_terminate_backend(pg_backend_pid())")')
    with pytest.raises(ConnectionLost) as err:
        run_plan(target_db, f.resolved(), "upgrade", "head", run_id="t", lock_retries=0)
    assert err.value.code == "connection_lost" and err.value.fields["revision"] == "r2"
    assert "fix the revision" not in err.value.explanation.lower()
    assert "Nothing is wrong with the revision" in err.value.explanation
    with connect(target_db, "mop-tests") as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchall() == [("r1",)]


def test_it_still_says_fix_the_revision_when_a_statement_of_it_fails(tmp_path, target_db):
    f = Factory(tmp_path)
    f.rev("r1", None, "bad sql", upgrade='op.execute("SELECT * FROM no_such_table_mop")')
    with pytest.raises(MigrationFailed) as err:
        run_plan(target_db, f.resolved(), "upgrade", "head", run_id="t", lock_retries=0)
    assert err.value.code == "migration_failed" and "fix the revision" in err.value.explanation
    assert "no_such_table_mop" in str(err.value)


def test_it_explains_a_server_without_tls_when_tls_is_required():
    with fake_pg_server() as server:
        target = TargetConn(host=server.host, port=server.port, dbname="x", user="app", password="pw",
                            sslmode="require")
        with pytest.raises(TLSFailed) as err:
            connect(target, "mop-tests")
    assert err.value.code == "tls_failed" and "does not support SSL" in str(err.value)
    assert "does not offer TLS" in err.value.explanation and "did not answer" not in err.value.explanation
    assert server.passwords == [] and server.captures[0].startup == {}  # refused before the startup message



def test_it_explains_a_missing_pg_hba_rule_as_not_allowed():
    hba = 'no pg_hba.conf entry for host "127.0.0.1", user "app", database "x", no encryption'
    with fake_pg_server(reject_with=hba) as server:
        target = TargetConn(host=server.host, port=server.port, dbname="x", user="app", password="pw",
                            sslmode="disable")
        with pytest.raises(HostNotAllowed) as err:
            connect(target, "mop-tests")
    assert err.value.code == "host_not_allowed" and "pg_hba.conf" in str(err.value)
    assert "no pg_hba.conf rule" in err.value.explanation and "did not answer" not in err.value.explanation
    assert server.passwords == []
