"""Two configs: the home app itself, and the admin whose index is the dashboard.

``OpsAdminConfig`` replaces ``django.contrib.admin`` in INSTALLED_APPS (Django's
documented way to swap the default site): ``admin.site`` becomes
``OpsAdminSite``, so every ``@admin.register`` keeps working unchanged.
"""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class OpsAdminConfig(AdminConfig):
    default_site = "portal.home.site.OpsAdminSite"


class HomeConfig(AppConfig):
    name = "portal.home"
    label = "home"
    verbose_name = "Fleet overview"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals

        signals.connect()
