"""A long upgrade on a real worker, its log and progress written in batches: every step is still in the log."""

from __future__ import annotations

import re

import pytest

from portal.ops import services
from portal.ops.models import Run, RunLog
from tests.engine.alembic_factory import alembic_current, linear
from tests.factories import AlembicProjectFactory, target_for
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker
N = 60


def test_every_step_of_a_long_upgrade_is_in_the_log_in_order(
    transactional_db, celery_worker_proc, make_database, tmp_path, dba
):
    conn = make_database("batched")
    project = linear(tmp_path / "long", N)
    target = target_for(conn, AlembicProjectFactory(name="long-history", location=str(project.root)), name="long")

    run = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head", user=dba))

    assert run.status == Run.Status.SUCCEEDED, run.error
    assert alembic_current(project.root, conn) == {f"r{N}"} and run.result_heads == [f"r{N}"]
    assert run.steps_done == run.steps_total == N and run.current_step == ""
    assert [t["revision"] for t in run.step_timings] == [f"r{i}" for i in range(1, N + 1)]
    rows = list(RunLog.objects.filter(run=run).order_by("id").values_list("created_at", "message"))
    stamps, messages = [r[0] for r in rows], [r[1] for r in rows]
    assert stamps == sorted(stamps)
    assert messages[0].startswith("upgrade head on long (") and messages[-1] == "Run succeeded"
    # Per revision, in this order: the step, Alembic's own line, applied, committed (nothing lost or moved).
    per_step = [m for m in messages if re.match(r"(Step \d+/|Running upgrade|Applied |Committed )", m)]
    expected = []
    for i in range(1, N + 1):
        before = f"r{i - 1}" if i > 1 else ""
        expected += [f"Step {i}/{N}: upgrade r{i}", f"Running upgrade {before} -> r{i}", f"Applied r{i}",
                     f"Committed upgrade r{i}"]
    assert len(per_step) == len(expected) == 4 * N
    for got, want in zip(per_step, expected, strict=True):
        assert got.startswith(want), (got, want)
