"""Rehearsals and backups on a real worker: a passing rehearsal opens the gate for that plan only; the
touched-tables backup is taken before step 1, restores and verifies; a bad backup directory fails the run."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.utils.timezone import now
from psycopg import sql

from migrations_ops.backup import touched_tables
from migrations_ops.scratch.databases import scratch_name
from portal.assure import backups, rehearsing
from portal.assure.models import Backup, Rehearsal, TargetAssurance
from portal.assure.tasks import reap_scratch_databases
from portal.change.models import Policy
from portal.ops import services
from portal.ops.models import AuditEvent, Run
from tests.engine.alembic_factory import alembic_current
from tests.factories import BILLING
from tests.polling import wait_for
from tests.portal.assure_portal.helpers import dev_and_prod
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker
BILLING_HEAD = "6e7a2c9d4b38"


def _finished(rehearsal: Rehearsal, timeout: float = 120) -> Rehearsal:
    def done():
        rehearsal.refresh_from_db()
        return not rehearsal.is_active
    wait_for(done, timeout, what=f"rehearsal #{rehearsal.pk}")
    return rehearsal


def test_it_rehearses_the_full_plan_and_the_gate_accepts_only_that_plan(
        transactional_db, celery_worker_proc, make_database, dba):
    _dev, prod, prod_conn = dev_and_prod(make_database, prod_at=None)
    Policy.objects.filter(environment="production").update(rehearsal_required=True, rehearsal_max_age_hours=2)
    with pytest.raises(ValidationError, match="requires a passing rehearsal"):
        services.schedule_run(target=prod, operation="upgrade", revision="head", user=dba, confirm_name=prod.name)

    rehearsal = _finished(rehearsing.request_rehearsal(prod, "head", user=dba))
    assert rehearsal.status == Rehearsal.Status.PASSED, rehearsal.error
    report = rehearsal.report
    assert [p["name"] for p in report["phases"]] == ["first", "back", "again"]
    assert report["down_vs_before"] == [] and report["up_again_vs_up"] == []
    assert rehearsal.server_name == "billing-dev" and rehearsal.steps_done == rehearsal.steps_total
    assert alembic_current(BILLING, prod_conn) == set(), "the rehearsal never writes the target"

    with pytest.raises(ValidationError, match="requires a passing rehearsal"):
        services.schedule_run(target=prod, operation="upgrade", revision="+1", user=dba, confirm_name=prod.name)
    run = wait_run_finished(services.schedule_run(target=prod, operation="upgrade", revision="head", user=dba,
                                                  confirm_name=prod.name))
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.sql_hash == rehearsal.sql_hash
    assert AuditEvent.objects.filter(action="rehearsal.finished", outcome="passed").count() == 1


def test_it_backs_up_the_touched_tables_before_step_one_and_the_restore_verifies(
        transactional_db, celery_worker_proc, make_database, dba, tmp_path):
    _dev, prod, prod_conn = dev_and_prod(make_database, prod_at="+1")
    Policy.objects.filter(environment="production").update(backup_scope="touched")
    TargetAssurance.objects.create(target=prod, backup_dir=str(tmp_path / "backups"))
    run = wait_run_finished(services.schedule_run(target=prod, operation="upgrade", revision="head", user=dba,
                                                  confirm_name=prod.name))
    assert run.status == Run.Status.SUCCEEDED, run.error
    backup = Backup.objects.get(run=run)
    assert backup.status == Backup.Status.OK and backup.size > 0 and len(backup.sha256) == 64
    touched = set(touched_tables(run.sql))
    assert backup.tables and set(backup.tables) <= touched
    assert set(backup.row_counts) == set(backup.tables)
    assert backup.path.startswith(str(tmp_path / "backups")) and "pg_restore" in backup.restore_command
    first_log = run.log_lines.order_by("id").values_list("message", flat=True)
    assert any("Backup #" in m for m in first_log[:5]), "the backup comes before the first step"

    tested = backups.run_restore_test(backup, user=dba)
    assert tested.restore_test["passed"], tested.restore_test
    assert set(tested.restore_test["tables"]) == set(backup.tables)
    assert AuditEvent.objects.filter(action="backup.taken", run=run).exists()


def test_it_fails_the_run_before_step_one_when_the_backup_cannot_be_written(
        transactional_db, celery_worker_proc, make_database, dba, tmp_path):
    _dev, prod, prod_conn = dev_and_prod(make_database, prod_at="+1")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the backup directory should be")
    Policy.objects.filter(environment="production").update(backup_scope="full")
    TargetAssurance.objects.create(target=prod, backup_dir=str(blocker / "backups"))
    before = alembic_current(BILLING, prod_conn)
    run = wait_run_finished(services.schedule_run(target=prod, operation="upgrade", revision="head", user=dba,
                                                  confirm_name=prod.name))
    assert run.status == Run.Status.FAILED and run.error_code == "backup_failed"
    assert "cannot create the backup directory" in run.error
    assert run.steps_done == 0 and alembic_current(BILLING, prod_conn) == before
    assert Backup.objects.get(run=run).status == Backup.Status.FAILED


def test_it_keeps_backups_by_count_and_audits_each_deletion(transactional_db, make_database, tmp_path):
    _dev, prod, _conn = dev_and_prod(make_database, prod_at="+1")
    TargetAssurance.objects.create(target=prod, backup_keep_count=2)
    made = []
    for i in range(3):
        path = tmp_path / f"b{i}.dump"
        path.write_bytes(b"x")
        made.append(Backup.objects.create(target=prod, scope="full", path=str(path), status=Backup.Status.OK))
    deleted = backups.prune(prod)
    assert [b.pk for b in deleted] == [made[0].pk]
    assert not (tmp_path / "b0.dump").exists() and (tmp_path / "b2.dump").exists()
    event = AuditEvent.objects.get(action="backup.deleted")
    assert event.params["backup"] == made[0].pk and event.params["reason"] == "retention by count"


def test_it_reaps_old_scratch_databases_and_old_backups(transactional_db, make_database, tmp_path, pg_admin):
    _dev, prod, _conn = dev_and_prod(make_database, prod_at=None)
    TargetAssurance.objects.create(target=prod, backup_keep_days=7)
    old = tmp_path / "old.dump"
    old.write_bytes(b"x")
    aged = Backup.objects.create(target=prod, scope="full", path=str(old), status=Backup.Status.OK)
    Backup.objects.filter(pk=aged.pk).update(created_at=now() - timedelta(days=8))
    stale, fresh = scratch_name("rehearse", time.time() - 7 * 3600), scratch_name("rehearse")
    with psycopg.connect(**pg_admin.connect_kwargs("t"), autocommit=True) as c:
        for name in (stale, fresh):
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        assert reap_scratch_databases() >= 1
        with psycopg.connect(**pg_admin.connect_kwargs("t"), autocommit=True) as c:
            left = {r[0] for r in c.execute("SELECT datname FROM pg_database")}
        assert stale not in left and fresh in left
        assert Backup.objects.get(pk=aged.pk).status == Backup.Status.DELETED and not old.exists()
        assert AuditEvent.objects.get(action="backup.deleted").params["reason"] == "retention by age"
    finally:
        with psycopg.connect(**pg_admin.connect_kwargs("t"), autocommit=True) as c:
            for name in (stale, fresh):
                c.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
