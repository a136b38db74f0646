from django.apps import AppConfig
from django.db.models.signals import post_migrate


def grant_roles(sender, **kwargs) -> None:
    """After migrate or flush, give the role groups this app's permissions (writes the DB)."""
    from .roles import ensure_assure_roles

    ensure_assure_roles()


class AssureConfig(AppConfig):
    name = "portal.assure"
    label = "assure"
    verbose_name = "Rehearsals, backups and drift"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from .models import TargetAssurance
        from .schedules import on_settings_saved

        post_migrate.connect(grant_roles, sender=self, dispatch_uid="assure-grant-roles")
        post_save.connect(on_settings_saved, sender=TargetAssurance, dispatch_uid="assure-drift-schedule")
