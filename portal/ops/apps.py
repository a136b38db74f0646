import logging

from django.apps import AppConfig
from django.db.models.signals import post_migrate

log = logging.getLogger(__name__)


def restore_roles(sender, using="default", **kwargs) -> None:
    """After migrate or flush (post_migrate), make sure the role groups exist with their permissions.

    Django's own post_migrate handlers (contenttypes, then auth's permissions)
    are connected earlier in INSTALLED_APPS order, so the permissions exist by
    the time this runs. A migrate to a state without some ops model skips it.
    """
    from .roles import ensure_roles

    if using != "default":
        return
    try:
        ensure_roles()
    except RuntimeError as exc:
        log.warning("roles not restored: %s", exc)


class OpsConfig(AppConfig):
    name = "portal.ops"
    label = "ops"
    verbose_name = "Migration operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(restore_roles, sender=self, dispatch_uid="ops-restore-roles")
        from . import throttle

        throttle.connect(self)
