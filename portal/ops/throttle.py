"""Login throttling: django-axes locks a username + client IP out after repeated failures.

Settings come from the environment (``portal/settings.py``: MOP_LOGIN_FAILURE_LIMIT,
MOP_LOGIN_LOCKOUT_MINUTES). Every lockout is appended to the portal's audit
trail, next to the runs; a DBA with the right to change Axes' records unlocks
from Axes' own admin pages ("Access attempts": delete the attempt), and the
unlock is audited too. The admin role may do it (``grant_unlock``). The client IP is ``REMOTE_ADDR`` (no forwarded header
is trusted), so behind a proxy the lock is per user and proxy address.
"""

from __future__ import annotations

import logging

from axes.backends import AxesStandaloneBackend
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models.signals import post_delete, post_migrate

from . import audit
from .models import AuditEvent

log = logging.getLogger(__name__)


class PortalAxesBackend(AxesStandaloneBackend):
    """Axes' check before the password is even compared; an ``authenticate()`` without a request
    (code, not a login form: there is no client to throttle) passes on to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def record_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """Audit a lockout once, when it starts: who, from where, after how many failures (writes the DB).

    Axes signals every refused attempt during the lockout too; one event per
    lockout keeps an attacker from flooding the append-only trail.
    """
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.filter(username=username, ip_address=ip_address).first()
    if attempt is not None and attempt.failures_since_start > settings.AXES_FAILURE_LIMIT:
        return
    audit.record(
        actor=(username or "")[:150] or "anonymous", actor_kind=AuditEvent.ActorKind.USER, action="login.locked_out",
        outcome="locked_out",
        params={"ip_address": ip_address, "failure_limit": settings.AXES_FAILURE_LIMIT,
                "lockout_minutes": settings.MOP_LOGIN_LOCKOUT_MINUTES},
    )
    log.warning("login locked out: user %r from %s", username, ip_address)


def record_unlock(sender, instance=None, **kwargs) -> None:
    """Audit that a locked-out attempt record was removed (an unlock in Axes' admin, or ``axes_reset``)."""
    if instance is None or instance.failures_since_start < settings.AXES_FAILURE_LIMIT:
        return  # not a lockout: a few failures forgotten after a good login
    audit.record(
        actor="system", actor_kind=AuditEvent.ActorKind.SYSTEM, action="login.unlocked", outcome="unlocked",
        params={"username": instance.username, "ip_address": instance.ip_address,
                "failures": instance.failures_since_start},
    )


# What the admin role may do in Axes' admin: see lockouts and unlock (delete the attempt); nothing else.
UNLOCK_PERMISSIONS = ("view_accessattempt", "delete_accessattempt", "view_accesslog", "view_accessfailurelog")


def grant_unlock(sender=None, using: str = "default", **kwargs) -> None:
    """After migrate or flush: let the admin role group unlock logins in Axes' admin (writes the DB).

    Kept beside ``roles.ensure_roles`` (which manages the ops permissions only)
    and run after it: the group exists and Axes' permissions too (``axes``
    comes before ``portal.ops`` in INSTALLED_APPS).
    """
    from django.contrib.auth.models import Group, Permission

    if using != "default":
        return
    group = Group.objects.filter(name="admin").first()
    if group is not None:
        group.permissions.add(*Permission.objects.filter(content_type__app_label="axes",
                                                         codename__in=UNLOCK_PERMISSIONS))


def connect(app_config) -> None:
    """Connect the audit receivers and the unlock permissions (from ``OpsConfig.ready``)."""
    from axes.models import AccessAttempt

    user_locked_out.connect(record_lockout, dispatch_uid="ops-audit-lockout")
    post_delete.connect(record_unlock, sender=AccessAttempt, dispatch_uid="ops-audit-unlock")
    post_migrate.connect(grant_unlock, sender=app_config, dispatch_uid="ops-axes-unlock-permissions")
