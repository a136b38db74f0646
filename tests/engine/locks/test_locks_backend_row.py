"""``backend_row``: the row a cancel or terminate judges, read by pid; None once no backend has the pid."""

from __future__ import annotations

from migrations_ops.locks import BackendRow, backend_row
from tests.polling import eventually

from .conftest import A_QUERY, LockDB, activity_of


def test_it_reads_the_row_of_a_live_backend(lock_db: LockDB) -> None:
    a = lock_db.open("A", "billing-web", autocommit=False)
    a.conn.execute(A_QUERY)

    found = backend_row(lock_db.diag, a.pid)

    assert isinstance(found, BackendRow)
    assert found.backend_start == a.backend_start
    assert (found.backend_type, found.application_name, found.usename) == ("client backend", "billing-web", "mopt_app")
    assert not found.superuser and not found.is_self
    assert found.row["pid"] == a.pid and found.row["state"] == "idle in transaction"


def test_it_returns_none_when_no_backend_has_the_pid(lock_db: LockDB) -> None:
    a = lock_db.open("A", "billing-web")
    a.conn.close()

    def gone() -> None:
        assert activity_of(lock_db.diag, a.pid) is None

    eventually(gone)
    assert backend_row(lock_db.diag, a.pid) is None
