"""The fleet check: every target's revision read in the background, so the dashboard never has to."""

from __future__ import annotations

from celery import shared_task
from django.db import close_old_connections


@shared_task(name="home.check_fleet", ignore_result=True, acks_late=True)
def check_fleet() -> dict:
    """Idempotent (it only reads targets and overwrites stored states), so acks_late is safe."""
    from . import fleet

    close_old_connections()
    return fleet.check_fleet()
