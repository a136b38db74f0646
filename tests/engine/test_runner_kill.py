"""A worker SIGKILLed mid-revision leaves the target at its last committed revision, lock released."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from migrations_ops.schema.runner import run_plan
from migrations_ops.target import connect
from tests.engine.alembic_factory import alembic_current, slow_middle
from tests.engine.test_runner_locks import backend_running
from tests.polling import wait_for

CHILD = textwrap.dedent(
    """
    import sys
    from migrations_ops.schema.project import ProjectSource
    from migrations_ops.schema.runner import run_plan
    from migrations_ops.target import TargetConn

    target = TargetConn.from_url(sys.stdin.readline().strip())
    run_plan(target, ProjectSource(sys.argv[1]), "upgrade", "head", run_id="killed")
    """
)


def lock_held(target) -> bool:
    with connect(target, "mop-tests") as c:
        return c.execute(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 5066576"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone() is not None


def test_it_survives_a_sigkilled_worker(tmp_path, target_db):
    project_dir = tmp_path / "proj"
    slow_middle(project_dir, 60)
    url = (f"postgresql://{target_db.user}:{target_db.password}@{target_db.host}:{target_db.port}"
           f"/{target_db.dbname}")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(project_dir)], stdin=subprocess.PIPE, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    child.stdin.write(url + "\n")
    child.stdin.flush()
    try:
        wait_for(lambda: backend_running(target_db, "mop:run:killed", "pg_sleep"), timeout=20)
        assert lock_held(target_db)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        killed_at = time.monotonic()
        wait_for(lambda: not lock_held(target_db), timeout=10)
        assert time.monotonic() - killed_at < 5
    finally:
        if child.poll() is None:
            child.kill()
    assert alembic_current(project_dir, target_db) == {"s1"}
    with connect(target_db, "mop-tests") as c:
        assert c.execute("SELECT to_regclass('slow2')").fetchone()[0] is None
    # the slow step is still slow; make it quick and finish the run
    (project_dir / "versions" / "s2_.py").write_text(
        (project_dir / "versions" / "s2_.py").read_text().replace("pg_sleep(60)", "pg_sleep(0)"))
    result = run_plan(target_db, str(project_dir), "upgrade", "head", run_id="after")
    assert result.from_heads == ("s1",) and result.to_heads == ("s3",)
