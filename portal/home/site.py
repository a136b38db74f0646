"""The admin site whose index is the fleet dashboard; the model list moves to ``models/``."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path


class OpsAdminSite(admin.AdminSite):
    site_header = "Migration Ops Portal"
    site_title = "Migration Ops"
    index_title = "Fleet"
    # The left-hand model list takes 300 px that the result lists need at 1280 px; the dashboard and the
    # "All models" page reach every model instead.
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        from . import views

        return views.index(self, request)

    def model_index(self, request, extra_context=None):
        """Django's own index: every model of every app (linked from the dashboard)."""
        return super().index(request, {**(extra_context or {}), "title": "Models"})

    def get_urls(self):
        from . import views

        view = self.admin_view
        return [
            path("models/", view(self.model_index), name="models"),
            path("fleet/live/", view(lambda r: views.dashboard_live(self, r)), name="home_fleet_live"),
            path("fleet/check/", view(lambda r: views.check_now(self, r)), name="home_fleet_check"),
            path("ops/auditevent/export.<str:fmt>", view(lambda r, fmt: views.audit_export(self, r, fmt)),
                 name="home_audit_export"),
            # Beside the target's own pages (ops/target/<pk>/...): the Locks page loads it.
            path("ops/target/<int:pk>/sessions/", view(lambda r, pk: views.target_sessions(self, r, pk)),
                 name="home_target_sessions"),
            *super().get_urls(),
        ]
