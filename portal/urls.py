"""URLs: everything a DBA uses lives under the admin."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from portal import celery  # noqa: F401 - the web process's Celery app: the schedules' admin lists its tasks
from portal.home.favicon import favicon

# Every app's admin.py, loaded with the URLs (portal.home.apps.OpsAdminConfig explains why here).
admin.autodiscover()

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon),
]
