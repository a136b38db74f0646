"""Roles as groups: viewer, operator, admin (each includes the one before)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPS_MODELS = ("alembicproject", "target", "run", "runlog", "auditevent")
VIEWER = [f"view_{m}" for m in OPS_MODELS]
OPERATOR = [*VIEWER, "schedule_run", "cancel_run"]
ADMIN = [
    *OPERATOR,
    *(f"{verb}_{model}" for model in ("target", "alembicproject") for verb in ("add", "change", "delete")),
    "verify_audit_chain", "export_audit", "cancel_backend", "terminate_backend",
]
ROLES = {"viewer": VIEWER, "operator": OPERATOR, "admin": ADMIN}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate);
    # create them now so the groups can point at them.
    ops_config = apps.get_app_config("ops")
    saved, ops_config.models_module = getattr(ops_config, "models_module", None), True
    try:
        create_permissions(ops_config, apps=apps, verbosity=0)
    finally:
        ops_config.models_module = saved
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        perms = list(Permission.objects.filter(content_type__app_label="ops", codename__in=codenames))
        missing = set(codenames) - {p.codename for p in perms}
        if missing:
            raise RuntimeError(f"permissions missing for role {name}: {sorted(missing)}")
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*perms)


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0002_audit_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, drop_roles)]
