from django.apps import AppConfig
from django.db.models.signals import post_migrate


def restore_defaults(sender, using="default", **kwargs) -> None:
    """After migrate or flush: the approver role, the shipped policies and the beat entries (create only)."""
    from .setup import ensure_defaults

    if using == "default":
        ensure_defaults()


class ChangeConfig(AppConfig):
    name = "portal.change"
    label = "change"
    verbose_name = "Change control"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.ops import gates

        from .gate import ChangeGate

        gates.register(ChangeGate())
        post_migrate.connect(restore_defaults, sender=self, dispatch_uid="change-restore-defaults")
