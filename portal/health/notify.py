"""Health events through change control's notification channels (the environment's active ones).

Change control's ``Notification`` rows belong to runs; a health event has no
run, so its deliveries are sent by their own task with the channels' own
kinds, secrets and signature, and counted on the event.
"""

from __future__ import annotations

import json
import logging

from django.db import transaction

log = logging.getLogger(__name__)
EVENT = "health_event"


def payload(event) -> dict:
    """The JSON body of a health event: what a receiver needs, never a secret."""
    t = event.threshold
    return {"event": EVENT, "health_event": event.pk, "target": event.target.name,
            "environment": event.target.environment, "metric": t.metric, "above": t.above,
            "for_minutes": t.for_minutes, "value": event.value, "opened_at": event.opened_at.isoformat()}


def text(data: dict) -> str:
    return (f"Health of {data['target']} ({data['environment']}): {data['metric'].replace('_', ' ')} "
            f"{data['value']:g} above {data['above']:g} for {data['for_minutes']} min")


def notify_event(event) -> None:
    """Queue one delivery per interested channel after commit; never raises (an event is kept regardless)."""
    try:
        from portal.change.models import NotificationChannel

        ids = [c.pk for c in NotificationChannel.objects.filter(environment=event.target.environment, is_active=True)
               if c.wants(EVENT)]
        for pk in ids:
            transaction.on_commit(lambda c=pk: _queue(event.pk, c))
    except Exception as exc:  # noqa: BLE001 - a notification never blocks the snapshot
        log.warning("health event %s not notified: %s", event.pk, exc)


def _queue(event_id: int, channel_id: int) -> None:
    from portal.celery import app

    try:
        app.send_task("health.deliver_event", (event_id, channel_id), retry=False)
    except Exception as exc:  # noqa: BLE001 - broker down: logged, the event stays on the home page
        log.warning("health event %s not queued: %s", event_id, exc)


def deliver(event, channel) -> None:
    """Send one event to one channel (raises on failure, for the task to retry)."""
    from portal.change import notify

    data = payload(event)
    body = json.dumps({"text": text(data)} if channel.kind == "slack" else data, sort_keys=True).encode()
    notify.send_to_channel(channel, text(data), body)
