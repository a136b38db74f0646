"""This app's permissions for the portal's role groups (viewer, operator, admin from portal.ops.roles)."""

from __future__ import annotations

MODELS = ("targetassurance", "driftcheck", "driftevent", "schemabaseline", "rehearsal", "backup")
VIEWER = [f"view_{m}" for m in MODELS]
OPERATOR = [*VIEWER, "request_rehearsal", "run_drift_check", "restore_test_backup"]
ADMIN = [*OPERATOR, "change_targetassurance", "add_targetassurance", "accept_baseline", "delete_backup"]
ROLES = {"viewer": VIEWER, "operator": OPERATOR, "admin": ADMIN}


def ensure_assure_roles() -> None:
    """Add this app's permissions to the existing role groups (groups made by portal.ops stay its own)."""
    from django.contrib.auth.models import Group, Permission

    for name, codenames in ROLES.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        group.permissions.add(*Permission.objects.filter(content_type__app_label="assure", codename__in=codenames))
