"""Assurance pages answer bad input and missing rights with 4xx and messages, never a 500."""

from __future__ import annotations

import pytest

from portal.assure.models import DriftCheck, DriftState
from tests.factories import target_for
from tests.portal.admin_helpers import client_for


@pytest.mark.parametrize("path", [
    "/admin/assure/driftcheck/abc/change/", "/admin/assure/driftcheck/999999/change/",
    "/admin/assure/rehearsal/x%00y/change/", "/admin/assure/rehearsal/999999/change/",
])
def test_it_answers_bad_ids_with_404(db, dba, path):
    assert client_for(dba).get(path).status_code == 404


def test_it_refuses_a_viewer_accepting_a_baseline_and_an_empty_comment(db, dba, viewer, target_db):
    target = target_for(target_db, name="pages-target")
    check = DriftCheck.objects.create(target=target, actor="dba", state=DriftState.DRIFT,
                                      live_snapshot={"objects": {}, "seconds": 0})
    url = f"/admin/assure/driftcheck/{check.pk}/accept/"
    assert client_for(viewer).post(url, {"comment": "x"}).status_code == 403
    page = client_for(dba).post(url, {"comment": " "}, follow=True)
    assert page.status_code == 200 and "A comment is required" in page.content.decode()
    assert client_for(viewer).get(f"/admin/assure/driftcheck/{check.pk}/change/").status_code == 200
    assert "Accept as baseline" not in client_for(viewer).get(
        f"/admin/assure/driftcheck/{check.pk}/change/").content.decode()
    assert client_for(viewer).get("/admin/assure/rehearsal/add/").status_code == 403
