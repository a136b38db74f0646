from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "portal.ops"
    label = "ops"
    verbose_name = "Migration operations"
    default_auto_field = "django.db.models.BigAutoField"
