"""Celery tasks of rehearsals, drift checks, restore tests and the scratch reaper: thin wrappers."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections

from migrations_ops.errors import OpsError
from migrations_ops.scratch import reap_scratch
from portal.ops.models import Target

from .models import Backup, Rehearsal, TargetAssurance

log = logging.getLogger(__name__)


@shared_task(name="assure.rehearse", ignore_result=True, acks_late=False)
def rehearse(rehearsal_id: int) -> str:
    """Run one rehearsal (claimed once; a redelivery finds it no longer queued)."""
    from . import rehearsing  # noqa: PLC0415 - Alembic and SQLAlchemy load where a rehearsal runs, not at start

    close_old_connections()
    return rehearsing.execute(rehearsal_id)


@shared_task(name="assure.check_drift", ignore_result=True, acks_late=True)
def check_drift(target_id: int, actor: str = "schedule:drift") -> str:
    """Check one target's drift (read-only on the target, so acks_late: a redelivery checks again)."""
    from . import drift  # noqa: PLC0415 - see rehearse

    close_old_connections()
    target = Target.objects.select_related("project").filter(pk=target_id, is_active=True).first()
    if target is None:
        return "missing"
    return drift.check_drift(target, actor=actor).state


@shared_task(name="assure.restore_test", ignore_result=True)
def restore_test(backup_id: int, actor: str = "system") -> bool:
    from . import backups  # noqa: PLC0415 - see rehearse

    close_old_connections()
    backup = Backup.objects.select_related("target").get(pk=backup_id)
    return bool(backups.run_restore_test(backup, actor=actor).restore_test.get("passed"))


@shared_task(name="assure.reap_scratch", ignore_result=True, acks_late=True)
def reap_scratch_databases() -> int:
    """Drop scratch databases older than MOP_SCRATCH_MAX_AGE_SECONDS on every rehearsal server in use, keep one
    spare on servers that rehearse, and apply the backups' retention (count and age; each deletion audited)."""
    from . import backups  # noqa: PLC0415 - see rehearse

    close_old_connections()
    servers = {c.rehearsal_server for c in TargetAssurance.objects.select_related("rehearsal_server")
               if c.rehearsal_server is not None}
    servers |= set(Target.objects.filter(environment=Target.Environment.DEVELOPMENT, is_active=True))
    for target_id in Backup.objects.filter(status=Backup.Status.OK).values_list("target_id", flat=True).distinct():
        backups.prune(Target.objects.get(pk=target_id))  # retention by age also when no new backup comes
    dropped = 0
    rehearsing_on = set(Rehearsal.objects.values_list("server_name", flat=True).distinct())
    for server in servers:
        try:
            # A spare scratch database waits only on servers that rehearse: the next rehearsal claims it
            # instead of paying CREATE DATABASE.
            dropped += len(reap_scratch(server.conn(), settings.MOP_SCRATCH_MAX_AGE_SECONDS,
                                        keep_spare=server.name in rehearsing_on))
        except OpsError as exc:
            log.warning("scratch reaper on %s: %s", server.name, exc)
    return dropped
