"""schedule_run plans from the live revision, enforces confirmations, and enqueues after commit."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import ValidationError

from migrations_ops.errors import MultipleHeads, RevisionNotFound
from portal.ops import services
from portal.ops.models import AuditEvent, Run
from portal.ops.status import target_status
from tests.engine.alembic_factory import branched
from tests.factories import AlembicProjectFactory, target_for

pytestmark = pytest.mark.django_db
BILLING_HEAD = "6e7a2c9d4b38"


@pytest.fixture
def target(make_database):
    return target_for(make_database("sched"), AlembicProjectFactory(name="billing"), name="billing-dev")


def test_it_stores_the_plan_and_enqueues_after_commit(target, operator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = services.schedule_run(target=target, operation="upgrade", revision="head", user=operator)
    run.refresh_from_db()
    assert len(callbacks) == 1
    assert (run.status, run.actor, run.requested_by) == (Run.Status.QUEUED, "olga", operator)
    assert run.from_heads == [] and run.to_heads == [BILLING_HEAD]
    assert run.steps_total == len(run.plan_steps) >= 6
    assert run.plan_steps[0]["direction"] == "upgrade"
    assert "CREATE TABLE" in run.sql and run.sql_hash == hashlib.sha256(run.sql.encode()).hexdigest()
    assert run.project_fingerprint.startswith("sha256:")
    assert run.params["lock_timeout_ms"] == target.lock_timeout_ms
    event = AuditEvent.objects.get(run=run)
    assert (event.action, event.to_revision, event.sql_hash) == ("run.scheduled", BILLING_HEAD, run.sql_hash)


@pytest.mark.parametrize(("environment", "operation", "confirm", "words"), [
    ("production", "upgrade", None, "production target: type the target's name"),
    ("production", "upgrade", "billing-prod", "does not match"),
    ("development", "downgrade", None, "downgrade: type the target's name"),
])
def test_it_needs_the_name_typed_back(target, operator, environment, operation, confirm, words):
    target.environment = environment
    target.save()
    with pytest.raises(ValidationError, match=words):
        services.schedule_run(target=target, operation=operation, revision="base", user=operator,
                              confirm_name=confirm)
    assert not Run.objects.exists()


def test_it_accepts_a_production_run_with_the_name(target, operator):
    target.environment = "production"
    target.save()
    run = services.schedule_run(target=target, operation="upgrade", revision="+1", user=operator,
                                confirm_name="billing-dev")
    assert run.steps_total == 1 and run.params["confirmed"] is True


def test_it_refuses_when_the_target_moved_since_the_preview(target, operator):
    with pytest.raises(ValidationError, match="moved since the plan was previewed"):
        services.schedule_run(target=target, operation="upgrade", revision="head", user=operator,
                              expected_from=["3f1c9a2b7d40"])
    assert not Run.objects.exists()


@pytest.mark.parametrize(("operation", "revision", "words"), [
    ("upgrade", "", "A revision is required"),
    ("explode", "head", "not one of"),
])
def test_it_refuses_bad_input(target, operator, operation, revision, words):
    with pytest.raises(ValidationError, match=words):
        services.schedule_run(target=target, operation=operation, revision=revision, user=operator)
    assert not Run.objects.exists()


def test_it_passes_engine_errors_through(target, operator, tmp_path):
    with pytest.raises(RevisionNotFound) as err:
        services.schedule_run(target=target, operation="upgrade", revision="deadbeef99", user=operator)
    assert "deadbeef99" in str(err.value) and err.value.explanation
    forked = branched(tmp_path / "forked", merged=False)
    target.project = AlembicProjectFactory(name="forked", location=str(forked.root))
    target.save()
    with pytest.raises(MultipleHeads, match="Multiple head revisions"):
        services.schedule_run(target=target, operation="upgrade", revision="head", user=operator)
    assert not Run.objects.exists() and not AuditEvent.objects.filter(action="run.scheduled").exists()


def test_it_refuses_an_inactive_target(target, operator):
    target.is_active = False
    target.save()
    with pytest.raises(ValidationError, match="inactive"):
        services.schedule_run(target=target, operation="upgrade", revision="head", user=operator)


def test_it_previews_the_status_and_the_plan(target):
    status = target_status(target)
    assert status.current == () and not status.has_version_table
    plan = services.preview_plan(target, "upgrade", "head")
    assert plan.to_heads == (BILLING_HEAD,) and plan.sql
    listing = services.project_listing(target.project)
    assert BILLING_HEAD in listing.heads
