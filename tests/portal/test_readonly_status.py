"""Read-only means read-only: what a viewer opens never imports a revision module.

A revision whose module-level code writes a file would run on every status
look if the file were imported; the status page, the revisions page and
``ops status`` read revisions statically, so the file never appears. Also:
lock_retries has an upper bound, on the form, in the services and the CLI.
"""
# ruff: noqa: F811

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from migrations_ops.schema.retry import MAX_LOCK_RETRIES
from portal.ops import services
from portal.ops.forms import ScheduleForm, TargetForm
from portal.ops.models import AlembicProject, Run
from tests.engine.alembic_factory import Factory
from tests.factories import target_for
from tests.portal.admin_helpers import viewer_client  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def side_effect_project(tmp_path):
    """r1 -> r2, where r2 writes ``ran.txt`` when imported; returns (project row, the marker path)."""
    marker = tmp_path / "ran.txt"
    f = Factory(tmp_path / "proj")
    f.table_rev("r1", None, "t1")
    f.table_rev("r2", "r1", "t2", imports=f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')")
    return AlembicProject.objects.create(name="side-effect", location=str(f.root)), marker


def test_it_shows_status_without_running_revision_code(viewer_client, side_effect_project, make_database):
    project, marker = side_effect_project
    target = target_for(make_database("ro"), project, name="ro-target")
    page = viewer_client.get(reverse("admin:ops_target_status", args=[target.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "r1" in text and "r2" in text  # pending, from the static reader
    revisions = viewer_client.get(reverse("admin:ops_alembicproject_revisions", args=[project.pk]))
    assert revisions.status_code == 200
    out = io.StringIO()
    call_command("ops", "status", "ro-target", stdout=out)
    assert "pending: r1, r2" in out.getvalue()
    assert not marker.exists()


def test_it_keeps_a_viewer_from_rendering_plan_sql_which_imports_revisions(viewer, side_effect_project,
                                                                          make_database):
    project, marker = side_effect_project
    target_for(make_database("rosql"), project, name="ro-sql")
    with pytest.raises(CommandError, match="lacks the permission 'ops.schedule_run'"):
        call_command("ops", "--user", viewer.username, "upgrade", "ro-sql", "head", "--sql",
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert not marker.exists()


def test_it_refuses_too_many_lock_retries_in_the_services(dba, make_database):
    target = target_for(make_database("lr"), name="lr-target")
    with pytest.raises(ValidationError, match=f"lock_retries must be at most {MAX_LOCK_RETRIES}, not 1000"):
        services.schedule_run(target=target, operation="upgrade", revision="head", user=dba, lock_retries=1000)
    assert not Run.objects.exists()


def test_it_refuses_too_many_lock_retries_on_the_cli(dba, make_database):
    target_for(make_database("lrcli"), name="lr-cli")
    with pytest.raises(CommandError, match=f"lock_retries must be at most {MAX_LOCK_RETRIES}, not 21"):
        call_command("ops", "--user", "dba", "upgrade", "lr-cli", "head", "--lock-retries", "21",
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert not Run.objects.exists()


def test_it_refuses_too_many_lock_retries_on_the_forms():
    form = ScheduleForm({"operation": "upgrade", "revision": "head", "lock_retries": "999"})
    assert not form.is_valid() and "less than or equal to 20" in str(form.errors["lock_retries"])
    target_form = TargetForm({"lock_retries": "999"})
    assert not target_form.is_valid() and "less than or equal to 20" in str(target_form.errors["lock_retries"])
    assert ScheduleForm({"operation": "upgrade", "revision": "head", "lock_retries": "20"}).is_valid()


def test_it_refuses_too_many_lock_retries_when_a_target_is_saved(dba):
    from portal.ops.models import Target
    from tests.factories import AlembicProjectFactory

    target = Target(name="many", project=AlembicProjectFactory(), host="127.0.0.1", dbname="x", user="app",
                    lock_retries=500)
    with pytest.raises(ValidationError, match="at most 20"):
        services.save_target(target, user=dba, created=True)
    assert not Target.objects.filter(name="many").exists()
