"""The audit trail in the admin: read-only, filterable, exportable, and its chain can be checked."""
# ruff: noqa: F811 - pytest fixtures are imported by name

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from portal.ops import admin as ops_admin
from portal.ops import audit
from portal.ops.models import AuditEvent
from tests.portal.admin_helpers import (  # noqa: F401 - fixtures
    billing_project,
    billing_target,
    dba_client,
    make_target,
    viewer_client,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:ops_auditevent_changelist"


@pytest.fixture
def events(billing_target):
    """Two events recorded through the audit service (the target fixture saves without auditing)."""
    audit.record(actor="dba", actor_kind="user", action="run.scheduled", target=billing_target,
                 operation="upgrade", from_revision=[], to_revision=["abc"], params={"lock_timeout_ms": 1000})
    audit.record(actor="schedule:nightly", actor_kind="schedule", action="run.finished", target=billing_target,
                 operation="upgrade", outcome="failed", error="Lock timeout")
    return list(AuditEvent.objects.order_by("id"))


def test_it_is_read_only(dba_client, events):
    event = events[0]
    assert dba_client.get(reverse("admin:ops_auditevent_add")).status_code == 403
    assert dba_client.get(reverse("admin:ops_auditevent_delete", args=[event.pk])).status_code == 403
    page = dba_client.get(reverse("admin:ops_auditevent_change", args=[event.pk])).content.decode()
    assert 'name="_save"' not in page and "deletelink" not in page
    assert 'value="delete_selected"' not in dba_client.get(reverse(CHANGELIST)).content.decode()


def test_it_filters_by_actor_outcome_and_search(dba_client, events):
    response = dba_client.get(reverse(CHANGELIST), {"actor": "schedule:nightly"})
    assert [e.pk for e in response.context["cl"].result_list] == [events[1].pk]
    response = dba_client.get(reverse(CHANGELIST), {"outcome": "failed", "actor_kind__exact": "schedule"})
    assert [e.pk for e in response.context["cl"].result_list] == [events[1].pk]
    response = dba_client.get(reverse(CHANGELIST), {"q": "Lock timeout"})
    assert [e.pk for e in response.context["cl"].result_list] == [events[1].pk]
    response = dba_client.get(reverse(CHANGELIST), {"target_name": "dev-billing", "action": "run.scheduled"})
    assert [e.pk for e in response.context["cl"].result_list] == [events[0].pk]


def test_it_exports_selected_events_as_csv_and_json(dba_client, events):
    ids = [str(e.pk) for e in events]
    response = dba_client.post(reverse(CHANGELIST), {"action": "export_selected_csv", "_selected_action": ids})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["id"] for r in rows] == ids and rows[0]["hash"] == events[0].hash
    assert json.loads(rows[0]["params"]) == {"lock_timeout_ms": 1000}
    response = dba_client.post(reverse(CHANGELIST), {"action": "export_selected_json", "_selected_action": ids})
    data = json.loads(response.content)
    assert [d["id"] for d in data] == [e.pk for e in events] and data[1]["actor"] == "schedule:nightly"


def test_it_exports_with_a_helper_tests_can_call(events):
    qs = AuditEvent.objects.filter(pk=events[0].pk)
    assert json.loads(ops_admin.export_json(qs))[0]["action"] == "run.scheduled"


def test_it_verifies_the_chain_and_shows_a_break(dba_client, events, monkeypatch):
    page = dba_client.get(reverse(CHANGELIST)).content.decode()
    assert 'id="mop-verify-chain"' in page
    url = reverse("admin:ops_auditevent_verify_chain")
    body = dba_client.post(url).content.decode()
    assert 'data-ok="true"' in body and f"{len(events)} events checked" in body
    broken = audit.ChainReport(False, 2, events[1].pk, f"event #{events[1].pk} was edited")
    monkeypatch.setattr(audit, "verify_chain", lambda: broken)
    body = dba_client.post(url).content.decode()
    assert 'data-ok="false"' in body and f"Chain broken at event #{events[1].pk}" in body
