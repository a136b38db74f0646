"""Notifications of run events: one delivery row per channel, sent after commit by a Celery task.

A delivery that fails is retried with backoff by the task and, in the end,
marked failed in the admin; it never blocks or fails the run (``event``
catches everything).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.request

from django.core.mail import send_mail
from django.db import transaction

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-MOP-Signature"


def payload(run, event: str) -> dict:
    """The JSON body of an event: what a receiver needs, never a secret."""
    return {
        "event": event, "run": run.pk, "operation": run.operation, "revision": run.revision,
        "target": run.target.name, "environment": run.target.environment, "status": run.status,
        "actor": run.actor, "from_heads": run.from_heads, "to_heads": run.to_heads, "sql_hash": run.sql_hash,
        "error": run.error or "",
    }


def sign(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the body, as sent in ``X-MOP-Signature``.

    >>> sign("s", b"{}")
    'sha256=143ca8d517ba1b181025d732b1cf275d90104fca57bb02a565542978aa18c4b6'
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_text(data: dict) -> str:
    error = f" — {data['error']}" if data.get("error") else ""
    return (f"Run #{data['run']} {data['operation']} {data['revision']} on {data['target']} "
            f"({data['environment']}): {data['event'].replace('_', ' ')}{error}")


def event(run, name: str) -> None:
    """Record a delivery per interested channel and send each after commit; never raises."""
    try:
        from .models import Notification, NotificationChannel

        channels = [c for c in NotificationChannel.objects.filter(environment=run.target.environment, is_active=True)
                    if c.wants(name)]
        if not channels:
            return
        body = payload(run, name)
        for channel in channels:
            note = Notification.objects.create(channel=channel, run_id=run.pk, event=name, payload=body)
            transaction.on_commit(lambda pk=note.pk: _send(pk))
    except Exception as exc:  # noqa: BLE001 - a notification never blocks or fails a run
        log.warning("notification %s of run %s not recorded: %s", name, run.pk, exc, extra={"run_id": run.pk})


def _send(pk: int) -> None:
    from portal.celery import app

    try:  # by name: the task module imports the services, which import this one
        app.send_task("change.deliver_notification", (pk,), retry=False)
    except Exception as exc:  # noqa: BLE001 - broker down: the row stays pending and visible
        log.warning("notification %s not queued: %s", pk, exc)


def body_for(channel, data: dict) -> bytes:
    if channel.kind == "slack":
        return json.dumps({"text": slack_text(data)}).encode()
    return json.dumps(data, sort_keys=True).encode()


def send_to_channel(channel, subject: str, body: bytes) -> None:
    """Deliver one message to one channel: an e-mail saying ``subject``, or ``body`` POSTed (signed if the
    channel has a secret). Raises on failure, for the caller's task to retry."""
    from portal.ops import secrets  # noqa: PLC0415 - the key is read only when a signature is made

    if channel.kind == "email":
        recipients = [e.strip() for e in channel.emails.split(",") if e.strip()]
        send_mail(f"[migration ops] {subject}", subject, None, recipients)
        return
    headers = {"Content-Type": "application/json", "User-Agent": "migration-ops-portal"}
    if channel.secret_encrypted:
        headers[SIGNATURE_HEADER] = sign(secrets.decrypt(channel.secret_encrypted), body)
    request = urllib.request.Request(channel.url, data=body, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - the DBA's own URL
        if resp.status >= 300:
            raise RuntimeError(f"HTTP {resp.status}")
