"""The beat entry of the periodic health reading (created by ``ops bootstrap-example``)."""

from __future__ import annotations

from django.conf import settings

SCHEDULE_NAME = "Health snapshot of every target"


def ensure_schedule() -> bool:
    """Create the beat entry if it is missing; an admin's later changes to it are kept (writes the DB)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask.objects.filter(name=SCHEDULE_NAME).exists():
        return False
    every, _ = IntervalSchedule.objects.get_or_create(every=settings.MOP_HEALTH_INTERVAL_SECONDS,
                                                      period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.get_or_create(name=SCHEDULE_NAME, defaults={"task": "health.snapshot_all_targets",
                                                                     "interval": every})
    return True
