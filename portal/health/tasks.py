"""Celery tasks of health: the periodic reading of every target, event deliveries, search parity checks."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import close_old_connections
from django.db.models import F

from . import parity, services
from .models import HealthEvent

log = logging.getLogger(__name__)


@shared_task(name="health.snapshot_all_targets", ignore_result=True, acks_late=True)
def snapshot_all_targets() -> dict:
    """Keep a health reading of every active target, judge thresholds, purge old ones (idempotent: acks_late)."""
    close_old_connections()
    return services.take_all()


@shared_task(name="health.deliver_event", bind=True, ignore_result=True, acks_late=True, max_retries=3)
def deliver_event(self, event_id: int, channel_id: int) -> str:
    """Send one health event to one channel; retried with backoff, then logged."""
    from portal.change.models import NotificationChannel

    from .notify import deliver

    close_old_connections()
    event = HealthEvent.objects.select_related("target", "threshold").filter(pk=event_id).first()
    channel = NotificationChannel.objects.filter(pk=channel_id, is_active=True).first()
    if event is None or channel is None:
        return "nothing"
    try:
        deliver(event, channel)
    except Exception as exc:  # noqa: BLE001 - retried, then logged
        if self.request.retries >= self.max_retries:
            log.warning("health event %s to channel %s failed: %s", event_id, channel_id, exc)
            return "failed"
        raise self.retry(countdown=2 * 2 ** self.request.retries) from None
    HealthEvent.objects.filter(pk=event_id).update(notified=F("notified") + 1)
    return "sent"


@shared_task(name="health.search_parity", ignore_result=True)
def search_parity(check_id: int) -> str:
    """Run one search parity check (claimed once; a redelivery of a started one is not rerun)."""
    close_old_connections()
    return parity.run_check(check_id)
