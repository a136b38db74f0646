"""The audit list filters by target, actor, action, outcome and date range, and exports exactly the filtered list."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils.timezone import localdate

from portal.home.audit_filters import distinct_values
from portal.ops import audit
from portal.ops.models import AuditEvent
from tests.factories import BILLING, AlembicProjectFactory, TargetFactory
from tests.portal.admin_helpers import client_for, dba_client, viewer_client

LIST = "/admin/ops/auditevent/"


@pytest.fixture
def trail(db):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    prod = TargetFactory(name="billing-prod", project=project)
    dev = TargetFactory(name="billing-dev", project=project)
    rows = [("alice", "run.scheduled", prod, ""), ("alice", "run.finished", prod, "failed"),
            ("bob", "run.finished", dev, "succeeded"), ("schedule:nightly", "run.finished", prod, "succeeded")]
    return [audit.record(actor=a, actor_kind="schedule" if a.startswith("schedule") else "user", action=act,
                         target=t, outcome=o, params={"lock_timeout_ms": 1000}) for a, act, t, o in rows]


def _ids(body: str) -> set[int]:
    import re

    return {int(i) for i in re.findall(r'name="_selected_action" value="(\d+)"', body)}


def test_it_lists_distinct_values_by_a_loose_index_scan(trail):
    assert distinct_values("actor") == ["alice", "bob", "schedule:nightly"]
    assert distinct_values("outcome") == ["failed", "succeeded"]
    with pytest.raises(ValueError):
        distinct_values("params")


def test_it_filters_by_target_actor_action_and_outcome(dba_client, trail):
    ids = {e.pk for e in trail}
    assert _ids(dba_client.get(LIST, {"target_name": "billing-prod"}).content.decode()) == ids - {trail[2].pk}
    assert _ids(dba_client.get(LIST, {"actor": "alice", "action": "run.finished"}).content.decode()) == {trail[1].pk}
    assert _ids(dba_client.get(LIST, {"outcome": "succeeded", "actor_kind": "schedule"}).content.decode()) == {
        trail[3].pk}
    body = dba_client.get(LIST).content.decode()
    assert "run.finished (finished a run)" in body  # the action filter names it in words


def test_it_filters_by_date_range_and_names_a_bad_date(dba_client, trail):
    today = localdate()
    ids = {e.pk for e in trail}
    assert _ids(dba_client.get(LIST, {"created_from": today.isoformat(), "created_to": today.isoformat()})
                .content.decode()) == ids
    assert _ids(dba_client.get(LIST, {"created_to": (today - timedelta(days=1)).isoformat()}).content.decode()) == set()
    response = dba_client.get(LIST, {"created_from": "31/12/2026", "actor": "bob"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "&#x27;31/12/2026&#x27; is not a date (YYYY-MM-DD): ignored" in body and _ids(body) == {trail[2].pk}


def test_it_exports_the_filtered_list_as_csv_and_json_and_audits_the_export(auditor, trail):
    client = client_for(auditor)
    page = client.get(LIST, {"actor": "alice"}).content.decode()
    assert 'href="/admin/ops/auditevent/export.csv?actor=alice"' in page
    response = client.get("/admin/ops/auditevent/export.csv", {"actor": "alice"})
    assert response.status_code == 200 and response["X-Audit-Events"] == "2"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == [trail[0].pk, trail[1].pk] and rows[1]["hash"] == trail[1].hash
    data = json.loads(b"".join(client.get("/admin/ops/auditevent/export.json", {"outcome": "succeeded"})
                               .streaming_content))
    exports = AuditEvent.objects.filter(action="audit.exported").order_by("id")
    # The first export is itself a succeeded event; the second export does not contain itself.
    assert [d["id"] for d in data] == [trail[2].pk, trail[3].pk, exports[0].pk]
    assert [e.params["events"] for e in exports] == [2, 3] and exports[0].params["filters"] == {"actor": "alice"}
    assert audit.verify_chain().ok


def test_it_refuses_export_without_the_permission_and_a_bad_format(viewer_client, auditor, trail):
    assert viewer_client.get("/admin/ops/auditevent/export.csv").status_code == 403
    assert client_for(auditor).get("/admin/ops/auditevent/export.xml").status_code == 404


def test_a_short_trail_is_counted_exactly(dba_client, trail):
    body = dba_client.get(LIST).content.decode()
    assert "About" not in body and 'id="mop-estimated-count"' not in body
    assert "4 audit events" in body
