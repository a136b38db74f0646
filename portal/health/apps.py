from django.apps import AppConfig
from django.db.models.signals import post_migrate


def grant_roles(sender, **kwargs) -> None:
    """After migrate or flush, give the role groups this app's permissions (writes the DB)."""
    from .roles import ensure_health_roles

    ensure_health_roles()


class HealthConfig(AppConfig):
    name = "portal.health"
    label = "health"
    verbose_name = "Health after the cut-over"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(grant_roles, sender=self, dispatch_uid="health-grant-roles")
