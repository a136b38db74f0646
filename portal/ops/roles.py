"""Roles as groups: viewer, operator, admin (each includes the one before).

Migration 0003 creates them with a frozen copy of this table; ``ensure_roles``
puts them back where a database was flushed (tests) or set up by hand.
"""

from __future__ import annotations

OPS_MODELS = ("alembicproject", "target", "run", "runlog", "auditevent", "verificationreport")
VIEWER = [f"view_{m}" for m in OPS_MODELS]
OPERATOR = [*VIEWER, "schedule_run", "cancel_run"]
ADMIN = [
    *OPERATOR,
    *(f"{verb}_{model}" for model in ("target", "alembicproject") for verb in ("add", "change", "delete")),
    "verify_audit_chain", "export_audit", "cancel_backend", "terminate_backend",
]
ROLES = {"viewer": VIEWER, "operator": OPERATOR, "admin": ADMIN}


def ensure_roles(group_model=None, permission_model=None) -> None:
    """Create the role groups and give them exactly their ops permissions (writes the DB).

    Takes the models as arguments so a data migration can pass its historical ones.
    """
    if group_model is None or permission_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    for name, codenames in ROLES.items():
        perms = list(permission_model.objects.filter(content_type__app_label="ops", codename__in=codenames))
        missing = set(codenames) - {p.codename for p in perms}
        if missing:
            raise RuntimeError(f"permissions missing for role {name}: {sorted(missing)} (run migrate first)")
        group, _ = group_model.objects.get_or_create(name=name)
        # Only this app's permissions are set here: the drift and change-control apps add their own.
        stale = group.permissions.filter(content_type__app_label="ops").exclude(pk__in=[p.pk for p in perms])
        group.permissions.remove(*stale)
        group.permissions.add(*perms)
