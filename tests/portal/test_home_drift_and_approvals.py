"""The dashboard shows each target's stored drift state and the approvals waiting for this approver."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

from django.test import Client
from django.utils.timezone import now

from portal.assure.models import DriftState, TargetAssurance
from portal.ops import services
from tests.factories import AlembicProjectFactory, UserFactory, target_for
from tests.portal.activity_helpers import dba_client

INDEX = "/admin/"


def _row(body: str, name: str) -> str:
    return body.split(f'id="mop-fleet-{name}"', 1)[1].split("</tr>", 1)[0]


def test_it_shows_open_drift_and_a_clean_target(dba_client, make_database):
    project = AlembicProjectFactory(name="billing")
    drifted = target_for(make_database("drifted"), project, name="billing-drifted")
    clean = target_for(make_database("clean"), project, name="billing-clean")
    TargetAssurance.objects.create(target=drifted, drift_state=DriftState.DRIFT, drift_since=now())
    TargetAssurance.objects.create(target=clean, drift_state=DriftState.CLEAN)
    body = dba_client.get(INDEX).content.decode()
    assert "mop-level-bad" in _row(body, "billing-drifted") and ">Drift<" in _row(body, "billing-drifted")
    assert "mop-level-ok" in _row(body, "billing-clean") and ">Clean<" in _row(body, "billing-clean")


def test_it_lists_a_production_run_awaiting_this_approver_but_not_the_requester(make_database, dba):
    project = AlembicProjectFactory(name="billing")
    target = target_for(make_database("prod"), project, name="billing-prod", environment="production")
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                confirm_name="billing-prod")
    anna = UserFactory(username="anna", roles=["viewer", "approver"])
    approver = Client()
    approver.force_login(anna)
    body = approver.get(INDEX).content.decode()
    assert f"Approve run #{run.pk}" in _row(body, "billing-prod")
    requester = Client()
    requester.force_login(dba)
    assert f"Approve run #{run.pk}" not in requester.get(INDEX).content.decode()
