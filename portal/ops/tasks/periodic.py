"""Periodic tasks (django-celery-beat): the reaper and the lock snapshots of every target."""

from __future__ import annotations

from celery import shared_task
from django.db import close_old_connections

from .. import copy_ledger, diagnostics, dispatch, lifecycle
from .copy import send_range


@shared_task(name="ops.reap_stale_runs", ignore_result=True)
def reap_stale_runs_task() -> int:
    """Send again copy ranges lost with their worker, mark runs whose worker stopped sending heartbeats as
    interrupted, and fail queued runs whose task is gone."""
    close_old_connections()
    lost = copy_ledger.requeue_lost(send=send_range, fail=lifecycle.record_failure)
    return len(lost) + len(lifecycle.reap_stale_runs()) + len(dispatch.reap_orphaned_queued())


@shared_task(name="ops.snapshot_all_targets", ignore_result=True, acks_late=True)
def snapshot_all_targets() -> dict:
    """Keep a lock snapshot of every active target and purge old ones (idempotent, so acks_late)."""
    close_old_connections()
    return diagnostics.snapshot_all_targets()
