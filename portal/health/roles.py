"""This app's permissions for the portal's role groups (viewer, operator, admin from portal.ops.roles)."""

from __future__ import annotations

VIEWER = ["view_healthsnapshot", "view_healthevent", "view_healththreshold", "view_paritycheck"]
OPERATOR = [*VIEWER, "add_paritycheck"]
ADMIN = [*OPERATOR, "add_healththreshold", "change_healththreshold", "delete_healththreshold"]
ROLES = {"viewer": VIEWER, "operator": OPERATOR, "admin": ADMIN}


def ensure_health_roles() -> None:
    """Add this app's permissions to the existing role groups (groups made by portal.ops stay its own)."""
    from django.contrib.auth.models import Group, Permission

    for name, codenames in ROLES.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        group.permissions.add(*Permission.objects.filter(content_type__app_label="health", codename__in=codenames))
