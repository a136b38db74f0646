"""Shipped defaults: the approver role, one policy per environment, and the beat entries (create only).

An admin may change any of them afterwards; a re-run keeps those changes.
"""

from __future__ import annotations

import logging

from django.conf import settings

log = logging.getLogger(__name__)

APPROVER_PERMS = {"ops": ["view_target", "view_run", "view_runlog", "view_auditevent", "view_alembicproject"],
                  "change": ["view_changerequest", "approve_changerequest", "view_policy", "view_maintenancewindow"]}
ADMIN_PERMS = [f"{verb}_{model}" for model in ("policy", "maintenancewindow", "notificationchannel")
               for verb in ("view", "add", "change", "delete")] + ["view_changerequest", "view_notification"]
DEFAULT_POLICIES = {
    # production: every run needs one approval from another user; high or critical need two.
    "production": {"approval_from": "low", "approvals_required": 1, "approvals_required_high": 2,
                   "allow_outside_window": True},
    # Open drift blocks production runs only, unless an admin says otherwise.
    "staging": {"approval_from": "high", "approvals_required": 1, "approvals_required_high": 1,
                "allow_open_drift": True},
    "development": {"approval_from": "never", "allow_open_drift": True},
}
BEAT_TASKS = (
    ("Change control: start due runs, mark missed windows", "change.start_due_runs",
     lambda: settings.MOP_CHANGE_BEAT_SECONDS),
)


def ensure_defaults() -> None:
    """Create what is missing (writes the DB); never overwrites an admin's edits."""
    from django.contrib.auth.models import Group, Permission
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from .models import Policy

    group, _ = Group.objects.get_or_create(name="approver")
    if not group.permissions.exists():
        perms = [p for app, codes in APPROVER_PERMS.items()
                 for p in Permission.objects.filter(content_type__app_label=app, codename__in=codes)]
        group.permissions.set(perms)
    admin_role = Group.objects.filter(name="admin").first()
    if admin_role is not None:  # the portal's admins edit policies, windows and channels
        admin_role.permissions.add(*Permission.objects.filter(content_type__app_label="change", codename__in=ADMIN_PERMS))
    for env, fields in DEFAULT_POLICIES.items():
        Policy.objects.get_or_create(environment=env, defaults=fields)
    for name, task, seconds in BEAT_TASKS:
        if not PeriodicTask.objects.filter(name=name).exists():
            every, _ = IntervalSchedule.objects.get_or_create(every=seconds(), period=IntervalSchedule.SECONDS)
            PeriodicTask.objects.create(name=name, task=task, interval=every)
