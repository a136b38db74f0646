"""Beat entries: one drift check per target at its own interval, and the scratch database reaper."""

from __future__ import annotations

import json

from .models import TargetAssurance

REAPER_NAME = "Drop orphaned scratch databases"


def drift_task_name(target_name: str) -> str:
    return f"Drift check of {target_name}"


def sync_drift_schedule(conf: TargetAssurance) -> None:
    """Create, update or disable the target's periodic drift check to match ``drift_check_minutes`` (writes the DB)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    name = drift_task_name(conf.target.name)
    if not conf.drift_check_minutes:
        PeriodicTask.objects.filter(name=name).update(enabled=False)
        return
    every, _ = IntervalSchedule.objects.get_or_create(every=conf.drift_check_minutes, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.update_or_create(name=name, defaults={
        "task": "assure.check_drift", "interval": every, "enabled": True,
        "args": json.dumps([conf.target_id, f"schedule:{name}"]),
    })
    reaper_every, _ = IntervalSchedule.objects.get_or_create(every=15, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.get_or_create(name=REAPER_NAME, defaults={"task": "assure.reap_scratch",
                                                                   "interval": reaper_every})


def on_settings_saved(sender, instance: TargetAssurance, update_fields=None, **kwargs) -> None:
    if update_fields and "drift_check_minutes" not in update_fields:
        return  # a drift check updating the state: the schedule did not change
    sync_drift_schedule(instance)
