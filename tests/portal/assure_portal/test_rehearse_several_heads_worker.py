"""A plan that starts at two heads is rehearsed through a real worker, and that rehearsal opens the policy's gate."""

from __future__ import annotations

import pytest

from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.runner import run_plan
from portal.assure import rehearsing
from portal.assure.models import Rehearsal
from portal.change.models import Policy
from portal.ops import services
from portal.ops.models import Run
from tests.engine.alembic_factory import Factory, alembic_current
from tests.factories import AlembicProjectFactory
from tests.polling import wait_for
from tests.portal.assure_portal.helpers import dev_and_prod
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker


def test_it_rehearses_a_plan_from_two_heads_on_a_worker_and_the_gate_accepts_it(
        transactional_db, celery_worker_proc, make_database, dba, tmp_path):
    f = Factory(tmp_path / "branched")
    f.table_rev("b1", None, "base_t")
    f.table_rev("b2l", "b1", "left_t", branch_labels=("left",))
    f.table_rev("b2r", "b1", "right_t", branch_labels=("right",))
    f.rev("b3", ("b2l", "b2r"), "merge, with a table of its own",
          upgrade='op.create_table("merged_t", sa.Column("id", sa.Integer, primary_key=True))',
          downgrade='op.drop_table("merged_t")')
    project = AlembicProjectFactory(name="branched", location=str(f.root))
    _dev, prod, prod_conn = dev_and_prod(make_database, prod_at=None, project=project, location=f.root,
                                         prefix="branched")
    resolved = resolve_project(ProjectSource(location=str(f.root)))
    run_plan(prod_conn, resolved, "upgrade", "b2l", run_id="setup-l")
    run_plan(prod_conn, resolved, "upgrade", "b2r", run_id="setup-r")
    Policy.objects.filter(environment="production").update(rehearsal_required=True)

    rehearsal = rehearsing.request_rehearsal(prod, "head", user=dba)
    assert sorted(rehearsal.from_heads) == ["b2l", "b2r"]

    def done():
        rehearsal.refresh_from_db()
        return not rehearsal.is_active
    wait_for(done, 120, what=f"rehearsal #{rehearsal.pk}")
    assert rehearsal.status == Rehearsal.Status.PASSED, rehearsal.error
    back = rehearsal.report["phases"][1]
    assert back["revision"] == "b2l b2r" and [s["revision"] for s in back["steps"]] == ["b3"]
    assert alembic_current(f.root, prod_conn) == {"b2l", "b2r"}, "the rehearsal never writes the target"

    run = wait_run_finished(services.schedule_run(target=prod, operation="upgrade", revision="head", user=dba,
                                                  confirm_name=prod.name))
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.sql_hash == rehearsal.sql_hash and alembic_current(f.root, prod_conn) == {"b3"}
