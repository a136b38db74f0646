"""A failed run stops waiting for a person when they open its page by any route, not when the CLI lists it.

"Waiting for you" on the dashboard holds failed and interrupted runs the
person has not looked at. Opening the run's page (the admin change page of a
migration run, of a copy, of a verification) is looking at it; the page's live
polling, a page the person may not see, a run still going, and the command
line (``ops runs``, ``ops status``) are not.
"""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import io

from django.core.management import call_command
from django.utils.timezone import now

from portal.home.models import RunSeen
from portal.ops.models import Run
from tests.factories import BILLING, AlembicProjectFactory, RunFactory, TargetFactory, target_for
from tests.portal.admin_helpers import client_for, dba_client

INDEX = "/admin/"


def _waiting(client) -> str:
    body = client.get(INDEX).content.decode()
    return body.split('id="mop-waiting"', 1)[1] if 'id="mop-waiting"' in body else ""


def _failed(target, user, operation: str = "upgrade", status: str = Run.Status.FAILED, **params) -> Run:
    return RunFactory(target=target, operation=operation, revision="head" if operation == "upgrade" else "",
                              actor=user.username, requested_by=user, status=status, started_at=now(),
                              finished_at=now() if status != Run.Status.RUNNING else None, error="it broke",
                              params=params)


def _target():
    return TargetFactory(name="billing-seen", project=AlembicProjectFactory(name="billing", location=str(BILLING)))


def test_it_stops_waiting_once_the_run_page_is_opened_from_the_runs_list(dba_client, dba):
    run = _failed(_target(), dba)
    link = f"/admin/ops/run/{run.pk}/change/"
    assert link in _waiting(dba_client)  # the dashboard links the run's own page
    assert dba_client.get(f"/admin/ops/run/{run.pk}/live/").status_code == 200  # polling is not opening
    assert not RunSeen.objects.filter(run=run).exists()
    assert dba_client.get(link).status_code == 200
    assert RunSeen.objects.filter(run=run, user=dba).count() == 1
    assert dba_client.get(link).status_code == 200  # a second visit keeps one row
    assert RunSeen.objects.filter(run=run, user=dba).count() == 1
    assert link not in _waiting(dba_client)


def test_it_stops_waiting_once_a_copy_or_verification_run_page_is_opened(dba_client, dba):
    target = _target()
    copy = _failed(target, dba, Run.Operation.COPY, Run.Status.INTERRUPTED, copy_id="copy-1", source="x.sqlite")
    verify = _failed(target, dba, Run.Operation.VERIFY, source="x.sqlite")
    waiting = _waiting(dba_client)
    assert f"/admin/ops/run/{copy.pk}/change/" in waiting and f"/admin/ops/run/{verify.pk}/change/" in waiting
    for run in (copy, verify):
        page = dba_client.get(f"/admin/ops/run/{run.pk}/change/")
        assert page.status_code == 200 and f'data-kind="{run.operation}"' in page.content.decode()
    assert set(RunSeen.objects.filter(user=dba).values_list("run_id", flat=True)) == {copy.pk, verify.pk}
    assert "/admin/ops/run/" not in _waiting(dba_client)


def test_it_marks_only_the_person_who_opened_it_and_only_a_run_that_had_failed(dba_client, dba, operator):
    target = _target()
    running = _failed(target, dba, status=Run.Status.RUNNING)
    failed = RunFactory(target=target, operation="upgrade", revision="head", actor="schedule:nightly",
                                status=Run.Status.FAILED, started_at=now(), finished_at=now())  # asked by a schedule
    assert dba_client.get(f"/admin/ops/run/{running.pk}/change/").status_code == 200
    assert not RunSeen.objects.filter(run=running).exists()  # seen going, its failure would come later
    operator_client = client_for(operator)
    assert f"/admin/ops/run/{failed.pk}/change/" in _waiting(operator_client)
    assert dba_client.get(f"/admin/ops/run/{failed.pk}/change/").status_code == 200
    assert list(RunSeen.objects.filter(run=failed).values_list("user__username", flat=True)) == ["dba"]
    assert f"/admin/ops/run/{failed.pk}/change/" in _waiting(operator_client)  # still waits for the operator
    assert dba_client.get("/admin/ops/run/999999/change/").status_code in (302, 404)
    assert RunSeen.objects.count() == 1


def test_it_does_not_count_the_command_line_as_opening_a_run(dba, make_database):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    target = target_for(make_database("seen"), project, name="billing-cli-seen")
    run = _failed(target, dba)
    for args in (("runs",), ("runs", "--json"), ("status", target.name), ("status", target.name, "--json")):
        out = io.StringIO()
        call_command("ops", "--user", "dba", *args, stdout=out, stderr=io.StringIO())
        assert out.getvalue().strip(), args
    assert not RunSeen.objects.filter(run=run).exists()
