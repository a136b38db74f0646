"""Celery tasks of change control: thin wrappers over ``services`` and ``notify``."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections
from django.utils.timezone import now

from portal.ops import secrets

from . import notify, services
from .models import Notification

log = logging.getLogger(__name__)


@shared_task(name="change.start_due_runs", ignore_result=True)
def start_due_runs() -> dict:
    """Beat's tick (every MOP_CHANGE_BEAT_SECONDS): queue due scheduled runs, mark missed windows."""
    close_old_connections()
    return services.start_due_runs()


@shared_task(name="change.deliver_notification", bind=True, ignore_result=True, acks_late=True,
             max_retries=settings.MOP_NOTIFY_RETRIES)
def deliver_notification(self, notification_id: int) -> str:
    """Send one notification; retried with exponential backoff, then marked failed (idempotent per row)."""
    close_old_connections()
    note = Notification.objects.select_related("channel").filter(pk=notification_id).first()
    if note is None or note.status == Notification.Status.SENT:
        return "nothing"
    Notification.objects.filter(pk=note.pk).update(attempts=note.attempts + 1)
    try:
        _deliver(note)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        error = secrets.redact(f"{type(exc).__name__}: {exc}")[:1000]
        last = self.request.retries >= self.max_retries
        Notification.objects.filter(pk=note.pk).update(
            last_error=error, status=Notification.Status.FAILED if last else Notification.Status.PENDING)
        if last:
            return "failed"
        raise self.retry(countdown=settings.MOP_NOTIFY_BACKOFF_SECONDS * 2 ** self.request.retries) from None
    Notification.objects.filter(pk=note.pk).update(status=Notification.Status.SENT, sent_at=now(), last_error="")
    return "sent"


def _deliver(note: Notification) -> None:
    notify.send_to_channel(note.channel, notify.slack_text(note.payload), notify.body_for(note.channel, note.payload))
from . import recurring  # noqa: E402, F401 - registers the recurring jobs
