"""A copy whose own planning fails leaves nothing on the target, so it must not block the next copy.

Before: scheduling into a target whose tables did not exist yet failed in
planning (rolled back on the target), and every later copy was refused with
"its copy is still open on the target", pointing the DBA to a resume or an
abandon that had nothing to act on.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest

from portal.ops import copying
from portal.ops.models import Run
from tests.factories import target_for
from tests.portal.admin_helpers import billing_project  # noqa: F401
from tests.portal.conftest import wait_run_finished
from tests.portal.copy_helpers import TYPED_TARGET_DDL, billing_sqlite, import_dir, pg_exec, rel  # noqa: F401

pytestmark = [pytest.mark.worker]


def test_a_copy_that_failed_in_planning_does_not_block_the_next(
    transactional_db, celery_worker_proc, dba, billing_project, billing_sqlite, make_database
) -> None:
    path, manifest = billing_sqlite
    conn = make_database("plan")
    target = target_for(conn, billing_project, name="not-migrated-yet")
    first = wait_run_finished(copying.schedule_copy(target=target, source=rel(path), user=dba), timeout=60)
    assert first.status == Run.Status.FAILED and "does not exist" in first.error
    assert first.params.get("never_opened") is True
    assert not copying.can_resume(first) and not copying.can_abandon(first)
    assert copying.unfinished_copy(target) is None
    assert pg_exec(conn, "SELECT to_regclass('mop.copy_run') IS NULL")[0][0], "the failed plan left nothing behind"

    pg_exec(conn, TYPED_TARGET_DDL)  # the DBA runs the migrations, then copies again: not refused
    second = wait_run_finished(copying.schedule_copy(target=target, source=rel(path), user=dba), timeout=120)
    assert second.status == Run.Status.SUCCEEDED_REJECTS, second.error  # the file's planted rejects
    assert pg_exec(conn, "SELECT count(*) FROM users")[0][0] == manifest.rows["users"]
