"""Recurring jobs a DBA schedules from the admin (django-celery-beat's Periodic tasks, with kwargs):

- ``change.recurring_verify`` ``{"target": "billing-prod", "source": "billing.sqlite"}``: a verification
  run, recorded and queued like any other run (actor ``schedule:<periodic task name>``);
- ``change.recurring_lock_snapshot`` ``{"target": "billing-prod"}``: a lock snapshot of one target, kept
  with reason periodic.

A bad name or file is logged and recorded as a failed audit event, never a crash loop of beat.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import close_old_connections

from migrations_ops.errors import OpsError
from portal.ops import audit, diagnostics, verifying
from portal.ops.models import AuditEvent, LockSnapshot, Target

log = logging.getLogger(__name__)


def _target(name: str) -> Target:
    target = Target.objects.filter(name=name, is_active=True).first()
    if target is None:
        raise ValidationError(f"No active target named {name!r}")
    return target


def _failed(action: str, actor: str, name: str, exc: Exception) -> str:
    log.warning("%s for %s failed: %s", action, name, exc)
    target = Target.objects.filter(name=name).first()
    audit.record(actor=actor, actor_kind=AuditEvent.ActorKind.SCHEDULE, action=action, target=target,
                 params={"target": name[:100]}, outcome="failed", error=str(exc)[:1000])
    return "failed"


@shared_task(name="change.recurring_verify", bind=True, ignore_result=True)
def recurring_verify(self, target: str, source: str | None = None, tables: list[str] | None = None) -> str:
    """Schedule a verification run of ``target`` (against ``source`` in MOP_IMPORT_DIR, or target-only)."""
    close_old_connections()
    actor = f"schedule:{getattr(self.request, 'periodic_task_name', None) or 'recurring verification'}"[:150]
    try:
        run = verifying.schedule_verify(target=_target(target), source=source or None, tables=tables,
                                        actor=actor, actor_kind=AuditEvent.ActorKind.SCHEDULE)
    except (ValidationError, OpsError) as exc:
        return _failed("schedule.verify_failed", actor, target, exc)
    return f"run {run.pk}"


@shared_task(name="change.recurring_lock_snapshot", bind=True, ignore_result=True, acks_late=True)
def recurring_lock_snapshot(self, target: str) -> str:
    """Keep a lock snapshot of one target (periodic; idempotent, so acks_late)."""
    close_old_connections()
    actor = f"schedule:{getattr(self.request, 'periodic_task_name', None) or 'recurring lock snapshot'}"[:150]
    try:
        row = diagnostics.store_snapshot(_target(target), LockSnapshot.Reason.PERIODIC, actor=actor)
    except (ValidationError, OpsError) as exc:
        return _failed("schedule.snapshot_failed", actor, target, exc)
    return f"snapshot {row.pk}"
