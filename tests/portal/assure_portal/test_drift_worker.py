"""Drift on a real worker: changes behind Alembic's back are found by the scheduled check, block production
runs, and are accepted as a baseline with a comment (audited)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask

from portal.assure import drift, gates
from portal.assure.models import DriftCheck, DriftEvent, DriftState, TargetAssurance
from portal.assure.schedules import drift_task_name
from portal.assure.tasks import check_drift
from portal.change.models import Policy
from portal.ops import services
from portal.ops.models import AuditEvent, Run, Target
from tests.engine.alembic_factory import Factory
from tests.factories import AlembicProjectFactory
from tests.polling import wait_for
from tests.portal.assure_portal.helpers import dev_and_prod, execute
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker


def _scheduled_check(target) -> DriftCheck:
    """Fire the target's beat entry as beat would (its task and args) and wait for the worker's check."""
    entry = PeriodicTask.objects.get(name=drift_task_name(target.name))
    before = DriftCheck.objects.filter(target=target).count()
    check_drift.apply_async(args=json.loads(entry.args))
    wait_for(lambda: DriftCheck.objects.filter(target=target).count() > before, 120, what="the drift check")
    return DriftCheck.objects.filter(target=target).order_by("-checked_at", "-id").first()


def test_it_finds_drift_blocks_production_and_accepts_it_as_baseline(
        transactional_db, celery_worker_proc, make_database, dba):
    _dev, prod, prod_conn = dev_and_prod(make_database)
    TargetAssurance.objects.create(target=prod, drift_check_minutes=5)
    entry = PeriodicTask.objects.get(name=drift_task_name(prod.name))
    assert entry.task == "assure.check_drift" and entry.interval.every == 5 and entry.enabled

    first = _scheduled_check(prod)
    assert first.state == DriftState.CLEAN, (first.error, first.schema_changes)
    assert first.source == DriftCheck.Source.REPLAY and first.actor.startswith("schedule:")

    execute(prod_conn, "ALTER TABLE users ADD COLUMN nickname text")
    execute(prod_conn, "DROP INDEX ix_users_email_normalized")
    second = _scheduled_check(prod)
    assert second.state == DriftState.DRIFT and second.source == DriftCheck.Source.CACHE
    assert [c["text"] for c in second.schema_changes] == [
        "column public.users.nickname added", "index public.ix_users_email_normalized removed"]
    conf = TargetAssurance.objects.get(target=prod)
    assert conf.drift_state == DriftState.DRIFT and conf.drift_since == second.checked_at
    assert DriftEvent.objects.get(target=prod, kind=DriftEvent.Kind.APPEARED).drift_check == second

    with pytest.raises(ValidationError, match="open drift"):
        services.schedule_run(target=prod, operation="downgrade", revision="-1", user=dba, confirm_name=prod.name)
    assert not Run.objects.filter(target=prod).exists()

    with pytest.raises(ValidationError, match="comment is required"):
        drift.accept_baseline(second, user=dba, comment="  ")
    drift.accept_baseline(second, user=dba, comment="nickname column added by the support team, index dropped on purpose")
    conf.refresh_from_db()
    assert conf.drift_state == DriftState.CLEAN
    accepted = AuditEvent.objects.get(action="drift.baseline_accepted", target=prod)
    assert accepted.actor == "dba" and "support team" in accepted.params["comment"]

    third = _scheduled_check(prod)
    assert third.state == DriftState.CLEAN and third.source == DriftCheck.Source.BASELINE
    run = wait_run_finished(services.schedule_run(target=prod, operation="downgrade", revision="-1", user=dba,
                                                  confirm_name=prod.name))
    assert run.status == Run.Status.SUCCEEDED, run.error


def test_it_refuses_the_start_of_a_run_when_drift_opened_after_scheduling(transactional_db, make_database, dba):
    _dev, prod, _conn = dev_and_prod(make_database)
    TargetAssurance.objects.create(target=prod, drift_state=DriftState.DRIFT)
    run = Run(target=prod, operation="upgrade", sql_hash="x", project_fingerprint="y")
    with pytest.raises(gates.GateRefused, match="open drift"):
        gates.check_start(run)
    Policy.objects.filter(environment="production").update(allow_open_drift=True)
    assert gates.refusal(prod, "upgrade", "x", "y") is None
    Policy.objects.filter(environment="production").update(allow_open_drift=False)
    assert _dev.environment == Target.Environment.DEVELOPMENT  # its shipped policy allows open drift
    TargetAssurance.objects.create(target=_dev, drift_state=DriftState.DRIFT)
    assert gates.refusal(_dev, "upgrade", "x", "y") is None
    Policy.objects.filter(environment="development").update(allow_open_drift=False)
    assert "development policy does not allow open drift" in gates.refusal(_dev, "upgrade", "x", "y")


def test_it_checks_unreplayable_history_against_an_accepted_baseline(
        transactional_db, celery_worker_proc, make_database, dba, tmp_path):
    f = Factory(tmp_path / "legacy")
    f.rev("r1", None, "assumes a table made by create_all()",
          upgrade='op.add_column("legacy", sa.Column("x", sa.Text))', downgrade='op.drop_column("legacy", "x")')
    project = AlembicProjectFactory(name="legacy", location=str(f.root))
    _dev, prod, prod_conn = dev_and_prod(make_database, prod_at=None, project=project, location=f.root)
    execute(prod_conn, "CREATE TABLE legacy (id int PRIMARY KEY, x text)")
    execute(prod_conn, "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
    execute(prod_conn, "INSERT INTO alembic_version VALUES ('r1')")
    TargetAssurance.objects.create(target=prod, drift_check_minutes=60)

    first = _scheduled_check(prod)
    assert first.state == DriftState.ERROR
    assert "Replaying the revisions up to r1 on an empty database failed" in first.error
    assert first.live_snapshot["objects"], "the live schema is kept so that it can be accepted"
    drift.accept_baseline(first, user=dba, comment="history starts with create_all(); schema reviewed")

    clean = _scheduled_check(prod)
    assert clean.state == DriftState.CLEAN and clean.source == DriftCheck.Source.BASELINE
    execute(prod_conn, "CREATE INDEX ix_legacy_x ON legacy (x)")
    drifted = _scheduled_check(prod)
    assert drifted.state == DriftState.DRIFT
    assert [c["text"] for c in drifted.schema_changes] == ["index public.ix_legacy_x added"]
