"""Every admin page renders for a DBA, and none shows a target's password."""
# ruff: noqa: F811 - pytest fixtures are imported by name

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.ops.models import Run, RunLog
from tests.factories import RunFactory
from tests.portal.admin_helpers import (  # noqa: F401 - fixtures
    BILLING_HEAD,
    BILLING_MERGE,
    assert_no_password,
    billing_project,
    billing_target,
    dba_client,
    make_target,
    target_password,
    viewer_client,
)

pytestmark = pytest.mark.django_db


def pages(target, run) -> list[str]:
    return [
        reverse("admin:index"),
        reverse("admin:ops_alembicproject_changelist"),
        reverse("admin:ops_alembicproject_change", args=[target.project_id]),
        reverse("admin:ops_alembicproject_revisions", args=[target.project_id]),
        reverse("admin:ops_target_changelist"),
        reverse("admin:ops_target_add"),
        reverse("admin:ops_target_change", args=[target.pk]),
        reverse("admin:ops_target_status", args=[target.pk]),
        reverse("admin:ops_target_schedule", args=[target.pk]),
        reverse("admin:ops_run_changelist"),
        reverse("admin:ops_run_change", args=[run.pk]),
        reverse("admin:ops_run_live", args=[run.pk]),
        reverse("admin:ops_auditevent_changelist"),
        reverse("admin:ops_auditevent_verify_chain"),
    ]


@pytest.fixture
def failed_run(billing_target):
    run = RunFactory(
        target=billing_target, status=Run.Status.FAILED,
        steps_total=3, steps_done=1, plan_steps=[{"revision": "r1", "direction": "up", "message": "one"}] * 3,
        step_timings=[{"revision": "r1", "direction": "up", "seconds": 0.25}],
        error="Lock timeout in revision r2: blocked by pid 4242", error_code="lock_timeout",
        error_explanation="The migration waited longer than lock_timeout.",
        error_data={"blocker_pid": 4242, "blocker_application": "psql", "blocker_query": "LOCK users"},
    )
    RunLog.objects.create(run=run, message="upgrade r1 done")
    return run


def test_it_renders_every_page_for_a_dba(dba_client, billing_target, failed_run, target_password):
    for url in pages(billing_target, failed_run):
        response = dba_client.get(url)
        assert response.status_code == 200, url
        assert_no_password(response.content, target_password)


def test_it_requires_a_login_on_every_page(client, billing_target, failed_run):
    for url in pages(billing_target, failed_run):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_it_shows_the_run_error_with_its_blocker(dba_client, failed_run):
    body = dba_client.get(reverse("admin:ops_run_change", args=[failed_run.pk])).content.decode()
    assert "blocked by pid 4242" in body
    assert "waited longer than lock_timeout" in body
    assert "LOCK users" in body and "psql" in body
    assert '<progress id="mop-progress"' in body and 'max="3"' in body and 'value="1"' in body


def test_it_serves_the_live_log_after_an_id(dba_client, failed_run):
    first = RunLog.objects.get(run=failed_run)
    second = RunLog.objects.create(run=failed_run, message="upgrade r2 failed", level="error")
    url = reverse("admin:ops_run_live", args=[failed_run.pk])
    data = dba_client.get(url, {"after": first.pk}).json()
    assert [line["id"] for line in data["log"]] == [second.pk]
    assert data["status"] == "failed" and data["active"] is False
    assert data["steps_done"] == 1 and data["steps_total"] == 3
    assert data["error"]["data"]["blocker_pid"] == 4242
    assert data["steps"][0]["seconds"] == 0.25


def test_it_shows_the_revisions_graph_with_heads_merges_and_targets(dba_client, billing_target):
    url = reverse("admin:ops_alembicproject_revisions", args=[billing_target.project_id])
    body = dba_client.get(url).content.decode()
    assert "<svg" in body
    assert f'data-rev="{BILLING_HEAD}"' in body and f'data-rev="{BILLING_MERGE}"' in body
    assert "merge point" in body and "branch point" in body
    assert f'id="rev-{BILLING_HEAD}"' in body
    row = body.split(f'id="rev-{BILLING_HEAD}"')[1].split("</tr>")[0]
    assert "mop-flag-head" in row
    # The empty target stands at base: it is named on the page.
    assert billing_target.name in body


def test_it_shows_an_unreachable_target_as_an_error_not_a_500(dba_client, make_target, billing_project):
    target = make_target(billing_project, name="gone")
    target.port = 1  # nothing listens there
    target.save()
    url = reverse("admin:ops_alembicproject_revisions", args=[billing_project.pk])
    response = dba_client.get(url)
    assert response.status_code == 200
    assert "Cannot connect to" in response.content.decode()
    status = dba_client.get(reverse("admin:ops_target_status", args=[target.pk]))
    assert status.status_code == 200 and "Cannot connect to" in status.content.decode()


def test_it_shows_a_target_without_version_table_and_its_pending_revisions(dba_client, billing_target):
    body = dba_client.get(reverse("admin:ops_target_status", args=[billing_target.pk])).content.decode()
    assert "no version table yet" in body
    assert BILLING_HEAD in body
    assert "Upgrade…" in body and "Downgrade…" in body and "Stamp…" in body


def test_it_hides_schedule_and_cancel_buttons_from_a_viewer(viewer_client, billing_target):
    running = RunFactory(target=billing_target,
                                 status=Run.Status.RUNNING)
    status = viewer_client.get(reverse("admin:ops_target_status", args=[billing_target.pk]))
    assert status.status_code == 200
    assert "Upgrade…" not in status.content.decode()
    run_page = viewer_client.get(reverse("admin:ops_run_change", args=[running.pk])).content.decode()
    assert "Cancel run" not in run_page
    listing = viewer_client.get(reverse("admin:ops_target_changelist")).content.decode()
    assert ">Schedule<" not in listing
    assert viewer_client.get(reverse("admin:ops_target_schedule", args=[billing_target.pk])).status_code == 403


def test_it_searches_and_filters_runs(dba_client, failed_run):
    url = reverse("admin:ops_run_changelist")
    for params in ({"q": "head"}, {"q": str(failed_run.pk)}, {"active": "no"}, {"status__exact": "failed"},
                   {"target__environment": "development"}):
        response = dba_client.get(url, params)
        assert response.status_code == 200, params
        assert [r.pk for r in response.context["cl"].result_list] == [failed_run.pk], params
    assert list(dba_client.get(url, {"active": "yes"}).context["cl"].result_list) == []


def test_a_missing_page_or_row_says_so_and_links_back(dba_client):
    """A garbage id is a 404 page with the way back, not a bare 'Not Found'."""
    for url in ("/admin/ops/run/abc/change/", "/admin/ops/run/99999999/change/"):
        response = dba_client.get(url)
        assert response.status_code == 404, url
        body = response.content.decode()
        assert "Not found" in body and 'href="/admin/"' in body, url
