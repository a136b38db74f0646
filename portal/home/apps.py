"""Two configs: the home app itself, and the admin whose index is the dashboard.

``OpsAdminConfig`` replaces ``django.contrib.admin`` in INSTALLED_APPS (Django's
documented way to swap the default site): ``admin.site`` becomes
``OpsAdminSite``, so every ``@admin.register`` keeps working unchanged.
"""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig, SimpleAdminConfig


class OpsAdminConfig(AdminConfig):
    """The admin, its modules discovered when the URLs load (``portal/urls.py``), not at every start.

    ``manage.py ops targets`` never serves a page: discovering every ``admin.py`` at start-up
    imported every page, the Alembic engine and the copy engine before the command printed a line.
    Django documents this split (``SimpleAdminConfig`` plus ``autodiscover()`` in the URLconf).
    """

    default_site = "portal.home.site.OpsAdminSite"

    def ready(self) -> None:
        SimpleAdminConfig.ready(self)  # the admin's system checks; no autodiscover here


class HomeConfig(AppConfig):
    name = "portal.home"
    label = "home"
    verbose_name = "Fleet overview"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals

        signals.connect()
