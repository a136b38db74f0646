"""The admin's custom pages, one table: the URL, the view, and the name templates reverse.

Each view is ``view(model_admin, request, **url_kwargs)``; ``urls_for`` wraps it in
``admin_site.admin_view`` (login required) for the ModelAdmin whose model the table
names. A new page is one line here and a function in ``views/``.
"""

from __future__ import annotations

from functools import partial

from django.urls import path

from .views import activity, audit, copy, runs, schema, workers

PAGES = {
    "alembicproject": [
        ("<int:pk>/revisions/", schema.project_revisions, "ops_alembicproject_revisions"),
    ],
    "target": [
        ("<int:pk>/status/", schema.target_status, "ops_target_status"),
        ("<int:pk>/schedule/", schema.schedule, "ops_target_schedule"),
        # Activity and locks, snapshots, cancel/terminate a backend.
        ("<int:pk>/activity/", activity.activity, "ops_target_activity"),
        ("<int:pk>/activity/live/", activity.activity_live, "ops_target_activity_live"),
        ("<int:pk>/snapshots/", activity.snapshots, "ops_target_snapshots"),
        ("<int:pk>/snapshots/take/", activity.snapshot_take, "ops_target_snapshot_take"),
        ("<int:pk>/snapshots/<int:sid>/", activity.snapshot, "ops_target_snapshot"),
        ("<int:pk>/backend/<str:action>/", activity.backend_action, "ops_target_backend"),
        # Copy from SQLite (form, pre-flight, confirm) and verification.
        ("<int:pk>/copy/", copy.copy_start, "ops_target_copy"),
        ("<int:pk>/verify/", copy.verify_start, "ops_target_verify"),
    ],
    "run": [
        ("<int:pk>/cancel/", runs.run_cancel, "ops_run_cancel"),
        ("<int:pk>/rejects/", copy.rejects, "ops_run_rejects"),
        ("<int:pk>/rejects.csv", partial(copy.rejects, csv=True), "ops_run_rejects_csv"),
        ("<int:pk>/not-copied.sql", copy.not_copied_sql, "ops_run_not_copied_sql"),
        ("<int:pk>/resume/", copy.resume, "ops_run_resume"),
        ("<int:pk>/abandon/", copy.abandon, "ops_run_abandon"),
        ("workers/", workers.workers_page, "ops_workers"),
    ],
    "auditevent": [
        ("verify-chain/", audit.verify_chain, "ops_auditevent_verify_chain"),
    ],
    "verificationreport": [
        ("<int:pk>/report.json", partial(copy.report_download, fmt="json"), "ops_verificationreport_json"),
        ("<int:pk>/report.csv", partial(copy.report_download, fmt="csv"), "ops_verificationreport_csv"),
        ("<int:pk>/compare/", copy.report_compare, "ops_verificationreport_compare"),
    ],
}


def urls_for(model_admin) -> list:
    """The custom URLs of ``model_admin``'s model, each view bound to it and behind the admin's login."""
    wrap = model_admin.admin_site.admin_view
    return [
        path(route, wrap(partial(view, model_admin)), name=name)
        for route, view, name in PAGES.get(model_admin.model._meta.model_name, [])
    ]
