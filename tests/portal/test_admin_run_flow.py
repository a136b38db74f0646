"""End to end through the admin: form -> confirm -> post=yes, a real Celery worker runs it.

The target's version then equals what Alembic's own ``command.current`` reports;
then downgrade to base and upgrade again, all by the admin's POSTs.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest
from django.urls import reverse

from portal.ops.models import Run
from tests.engine.alembic_factory import alembic_current
from tests.factories import BILLING, AlembicProjectFactory, target_for
from tests.portal.admin_helpers import BILLING_HEAD, assert_no_password, client_for
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker


def schedule_through_admin(client, target, operation: str, revision: str, confirm_name: str | None = None) -> Run:
    """Do what a DBA does: fill the form, read the confirm page, post it back with post=yes."""
    url = reverse("admin:ops_target_schedule", args=[target.pk])
    confirm = client.post(url, {"operation": operation, "revision": revision})
    assert confirm.status_code == 200
    assert confirm.templates[0].name == "admin/ops/target/schedule_confirm.html", [
        str(m) for m in confirm.context["messages"]]
    hidden = {k: ("" if v is None else v) for k, v in confirm.context["form"].initial.items()}
    done = client.post(url, {**hidden, "post": "yes", "confirm_name": confirm_name or ""})
    assert done.status_code == 302, [str(m) for m in done.context["messages"]]
    run = Run.objects.get(pk=int(done["Location"].rstrip("/").split("/")[-2]))
    assert done["Location"] == reverse("admin:ops_run_change", args=[run.pk])
    return run


def test_it_runs_upgrade_downgrade_and_upgrade_from_the_admin(
    transactional_db, celery_worker_proc, make_database, dba
):
    conn = make_database("adminflow")
    target = target_for(conn, AlembicProjectFactory(name="billing"), name="billing-admin")
    client = client_for(dba)

    up = wait_run_finished(schedule_through_admin(client, target, "upgrade", "head"))
    assert up.status == Run.Status.SUCCEEDED, up.error
    assert set(up.result_heads) == alembic_current(BILLING, conn) == {BILLING_HEAD}
    assert up.actor == "dba" and up.steps_done == up.steps_total > 0

    page = client.get(reverse("admin:ops_run_change", args=[up.pk])).content.decode()
    assert 'data-status="succeeded"' in page
    assert f'max="{up.steps_total}"' in page and f'value="{up.steps_total}"' in page
    live = client.get(reverse("admin:ops_run_live", args=[up.pk])).json()
    assert live["status"] == "succeeded" and live["percent"] == 100 and live["log"]
    assert all(s["seconds"] is not None for s in live["steps"])
    status = client.get(reverse("admin:ops_target_status", args=[target.pk])).content.decode()
    assert BILLING_HEAD in status and "mop-status-succeeded" in status
    for body in (page, status, str(live)):
        assert_no_password(body, conn.password)

    down = wait_run_finished(schedule_through_admin(client, target, "downgrade", "base", confirm_name=target.name))
    assert down.status == Run.Status.SUCCEEDED, down.error
    assert down.result_heads == [] and alembic_current(BILLING, conn) == set()

    again = wait_run_finished(schedule_through_admin(client, target, "upgrade", "head"))
    assert again.status == Run.Status.SUCCEEDED, again.error
    assert alembic_current(BILLING, conn) == {BILLING_HEAD}
