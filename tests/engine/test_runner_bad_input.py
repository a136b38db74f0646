"""Bad input fails with a clear message, changes nothing, and never shows the password."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from migrations_ops.errors import (
    AuthenticationFailed,
    BadDSN,
    MultipleHeads,
    OpsError,
    PlanError,
    ProjectNotFound,
    RevisionNotFound,
    TargetUnreachable,
)
from migrations_ops.schema.project import ProjectSource
from migrations_ops.schema.runner import run_plan
from migrations_ops.target import TargetConn, connect
from tests.engine.alembic_factory import branched, linear


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def untouched(target) -> bool:
    with connect(target, "mop-tests") as c:
        return c.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


def assert_clean(exc: OpsError, password: str) -> None:
    assert password not in str(exc) and password not in repr(exc.data())
    assert exc.explanation


def test_it_reports_an_unreachable_host(tmp_path, target_db):
    project = linear(tmp_path, 1).resolved()
    bad = replace(target_db, port=free_port())
    with pytest.raises(TargetUnreachable) as exc:
        run_plan(bad, project, "upgrade", "head", run_id="t")
    assert f"127.0.0.1:{bad.port}" in str(exc.value)
    assert_clean(exc.value, target_db.password)


def test_it_reports_a_wrong_password(tmp_path, target_db):
    project = linear(tmp_path, 1).resolved()
    bad = target_db.with_password("wrong-" + target_db.password[:6] + "-secret")
    with pytest.raises(AuthenticationFailed, match="Password authentication failed for user") as exc:
        run_plan(bad, project, "upgrade", "head", run_id="t")
    assert_clean(exc.value, bad.password)
    assert untouched(target_db)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"host": ""}, "host is empty"),
        ({"host": "db;rm -rf"}, "is not a host name"),
        ({"port": 70000}, "port 70000"),
        ({"dbname": ""}, "database name is empty"),
        ({"user": ""}, "user is empty"),
        ({"sslmode": "sometimes"}, "sslmode 'sometimes'"),
    ],
)
def test_it_refuses_bad_dsn_parts(target_db, changes, words):
    fields = {"host": target_db.host, "port": target_db.port, "dbname": target_db.dbname,
              "user": target_db.user, "password": target_db.password, **changes}
    with pytest.raises(BadDSN, match=words) as exc:
        TargetConn(**fields)
    assert_clean(exc.value, target_db.password)


def test_it_refuses_a_bad_url():
    with pytest.raises(BadDSN, match="scheme must be postgresql"):
        TargetConn.from_url("mysql://u:pw@h/db")


@pytest.mark.parametrize(
    ("make", "operation", "revision", "error", "words"),
    [
        (linear, "upgrade", "cafebabe", RevisionNotFound, "Can't locate revision identified by 'cafebabe'"),
        (linear, "downgrade", "r1", PlanError, "not a valid downgrade target"),
        (linear, "upgrade", "-1", PlanError, "didn't produce"),
        (lambda p: branched(p, merged=False), "upgrade", "head", MultipleHeads, "Multiple head revisions"),
    ],
)
def test_it_refuses_bad_revisions_and_changes_nothing(tmp_path, target_db, make, operation, revision, error,
                                                      words):
    project = make(tmp_path).resolved()
    with pytest.raises(error, match=words) as exc:
        run_plan(target_db, project, operation, revision, run_id="t")
    assert_clean(exc.value, target_db.password)
    assert untouched(target_db)


def test_it_refuses_a_missing_project_or_one_without_scripts(tmp_path, target_db):
    with pytest.raises(ProjectNotFound, match="is not a directory"):
        run_plan(target_db, ProjectSource(str(tmp_path / "nope")), "upgrade", "head", run_id="t")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProjectNotFound, match="no alembic.ini, env.py or versions"):
        run_plan(target_db, ProjectSource(str(tmp_path / "empty")), "upgrade", "head", run_id="t")
    assert untouched(target_db)


def test_it_refuses_nonsense_timeouts(tmp_path, target_db):
    project = linear(tmp_path, 1).resolved()
    with pytest.raises(PlanError, match="lock_timeout_ms must be a positive"):
        run_plan(target_db, project, "upgrade", "head", run_id="t", lock_timeout_ms=0)
