"""The DBA's interface: projects, targets, runs and the audit trail in the Django admin.

No business rule lives here (STYLE 2, 11): permissions, plans, scheduling,
cancelling and auditing are ``services`` calls; the full pages (revision
graph, target status, schedule flow, live run) are in ``views/``, reached through ``admin_urls``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.assure.admin_columns import drift_state_column
from portal.home import audit_filters
from portal.home import paginator as audit_paginator
from portal.home.seen import marks_run_opened

from . import admin_urls, services
from .forms import TargetForm, password_state
from .models import AlembicProject, AuditEvent, Run, Target, VerificationReport
from .views import copy as copy_views
from .views import runs

admin.site.site_header = "Migration Ops Portal"
admin.site.site_title = "Migration Ops"
admin.site.index_title = "Targets, revisions, runs and audit"


def status_badge(status: str, label: str | None = None) -> str:
    return format_html('<span class="mop-badge mop-status-{}">{}</span>', status, label or status)


def env_badge(environment: str, label: str) -> str:
    return format_html('<span class="mop-badge mop-env-{}">{}</span>', environment, label)


class OpsMedia:
    css = {"all": ["ops/ops.css"]}


class ReadOnlyAdminMixin:
    """Rows that are a record: nobody adds, edits or deletes them here (STYLE 11, results' ALLOW_EDITS idea)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- projects -------------------------------------------------------------------


@admin.register(AlembicProject)
class AlembicProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "location", "ref", "target_count", "revisions_link"]
    list_filter = ["kind", "env_mode"]
    search_fields = ["name", "location", "description"]
    Media = OpsMedia

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_target_count=Count("targets"))

    @admin.display(description="targets", ordering="_target_count")
    def target_count(self, obj: AlembicProject) -> int:
        return obj._target_count

    @admin.display(description="revisions")
    def revisions_link(self, obj: AlembicProject) -> str:
        url = reverse("admin:ops_alembicproject_revisions", args=[obj.pk])
        return format_html('<a href="{}">Revisions &amp; graph</a>', url)

    def get_urls(self):
        return [*admin_urls.urls_for(self), *super().get_urls()]


# --- targets --------------------------------------------------------------------


class LastKnownRevision(admin.SimpleListFilter):
    """Targets by whether a run has ever ended on them (cheap: no connection to the target)."""

    title = "runs"
    parameter_name = "has_runs"

    def lookups(self, request, model_admin):
        return [("yes", "Has runs"), ("no", "Never run")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(runs__isnull=False).distinct()
        if self.value() == "no":
            return queryset.filter(runs__isnull=True)
        return queryset


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    form = TargetForm
    list_display = [
        "name", "environment_badge", "project", "where", "password_display", "last_known_revision",
        drift_state_column, "links",
    ]
    list_filter = ["environment", "project", "is_active", LastKnownRevision]
    list_select_related = ["project", "assurance"]
    search_fields = ["name", "host", "dbname"]
    readonly_fields = ["password_display", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "environment", "project", "is_active"]}),
        ("Connection", {"fields": ["host", "port", "dbname", "user", "sslmode", "sslrootcert", "allow_password_auth"]}),
        ("Password (write-only)", {
            "fields": ["password_display", "password", "password_env"],
            "description": "The password is encrypted with MOP_FERNET_KEYS and never shown. "
                           "Alternatively name an environment variable set on web and workers.",
        }),
        ("Timeouts", {"fields": ["lock_timeout_ms", "statement_timeout_ms", "lock_retries"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    Media = OpsMedia

    def get_queryset(self, request):
        # The list shows what the last finished run found, so that it never connects to targets.
        last = Run.objects.filter(target=OuterRef("pk"), result_heads__isnull=False).order_by("-finished_at")
        return super().get_queryset(request).annotate(
            _last_heads=Subquery(last.values("result_heads")[:1]),
            _last_at=Subquery(last.values("finished_at")[:1]),
        )

    @admin.display(description="environment", ordering="environment")
    def environment_badge(self, obj: Target) -> str:
        return env_badge(obj.environment, obj.get_environment_display())

    @admin.display(description="where")
    def where(self, obj: Target) -> str:
        return obj.where()

    @admin.display(description="password")
    def password_display(self, obj: Target | None) -> str:
        return password_state(obj) if obj and obj.pk else "not set"

    @admin.display(description="last known revision")
    def last_known_revision(self, obj: Target) -> str:
        heads = getattr(obj, "_last_heads", None)
        if heads is None:
            return format_html('<span class="mop-muted">{}</span>', "no run yet")
        label = ", ".join(h[:12] for h in heads) or "base"
        return format_html('<code title="what the last finished run found">{}</code>', label)

    @admin.display(description="")
    def links(self, obj: Target) -> str:
        return format_html(
            '{} · <a href="{}">Schedule</a> · <a href="{}">Copy</a> · <a href="{}">Verify</a>', self.view_links(obj),
            reverse("admin:ops_target_schedule", args=[obj.pk]), reverse("admin:ops_target_copy", args=[obj.pk]),
            reverse("admin:ops_target_verify", args=[obj.pk]),
        )

    @admin.display(description="")
    def view_links(self, obj: Target) -> str:
        return format_html(
            '<a href="{}">Status</a> · <a href="{}">Revisions</a> · <a href="{}">Locks</a>',
            reverse("admin:ops_target_status", args=[obj.pk]),
            reverse("admin:ops_alembicproject_revisions", args=[obj.project_id]),
            reverse("admin:ops_target_activity", args=[obj.pk]),
        )

    def get_list_display(self, request):
        # The Schedule link only for those who may schedule (the view says 403 to the others anyway).
        if request.user.has_perm("ops.schedule_run"):
            return self.list_display
        return [("view_links" if c == "links" else c) for c in self.list_display]

    def save_model(self, request, obj, form, change):
        services.save_target(obj, user=request.user, password=form.new_password(), created=not change)
        if getattr(obj, "password_cleared", None):
            self.message_user(request, f"The stored password was cleared because {', '.join(obj.password_cleared)} "
                                       "changed: enter the password for the new server.", messages.WARNING)

    def has_delete_permission(self, request, obj=None):
        # A target with runs is part of the record: the runs and audit point at it.
        if obj is not None and obj.runs.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        return [*admin_urls.urls_for(self), *super().get_urls()]


# --- runs -----------------------------------------------------------------------


class ActiveFilter(admin.SimpleListFilter):
    title = "activity"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "Queued or running"), ("no", "Ended")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=Run.ACTIVE)
        if self.value() == "no":
            return queryset.exclude(status__in=Run.ACTIVE)
        return queryset


@admin.register(Run)
class RunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Runs are a record: nobody adds, edits or deletes them here. The change view is the live page."""

    list_display = [
        "id", "operation", "revision", "target_link", "status_display", "progress_bar", "actor", "created_at",
        "duration",
    ]
    list_display_links = ["id", "operation"]
    list_filter = [ActiveFilter, "status", "operation", "target", "target__environment"]
    list_select_related = ["target"]
    search_fields = ["=id", "revision", "actor", "target__name", "error"]
    date_hierarchy = "created_at"
    Media = OpsMedia

    @admin.display(description="target", ordering="target__name")
    def target_link(self, obj: Run) -> str:
        # Only the environments where a mistake costs something get a badge in this narrow column.
        badge = "" if obj.target.environment == Target.Environment.DEVELOPMENT else env_badge(
            obj.target.environment, obj.target.get_environment_display())
        return format_html('<a href="{}">{}</a> {}', reverse("admin:ops_target_status", args=[obj.target_id]),
                           obj.target.name, badge)

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: Run) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="progress")
    def progress_bar(self, obj: Run) -> str:
        return format_html(
            '<progress class="mop-progress-small" max="{}" value="{}" title="{} / {}"></progress>',
            obj.steps_total or 1, obj.steps_done if obj.steps_total else (1 if obj.percent == 100 else 0),
            obj.steps_done, obj.steps_total,
        )

    @admin.display(description="duration")
    def duration(self, obj: Run) -> str:
        if not obj.started_at:
            return "-"
        seconds = ((obj.finished_at or now()) - obj.started_at) / timedelta(seconds=1)
        return f"{seconds:.1f} s"

    def get_urls(self):
        view = self.admin_site.admin_view
        # The live endpoint picks the copy or the schema run page, like change_view.
        return [
            path("<int:pk>/live/", view(self.live_view), name="ops_run_live"),
            *admin_urls.urls_for(self),
            *super().get_urls(),
        ]

    def _data_run(self, request, pk) -> Run | None:
        """The run if it is a copy or a verification (they have pages of their own), else None."""
        run = Run.objects.select_related("target", "requested_by").filter(
            pk=pk, operation__in=[Run.Operation.COPY, Run.Operation.VERIFY]).first() if str(pk).isdigit() else None
        if run is not None and not self.has_view_permission(request, run):
            raise PermissionDenied
        return run

    @marks_run_opened  # opening a failed run's page, by any route, is looking at it (portal/home/seen.py)
    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self._data_run(request, object_id)
        if run is not None:
            return copy_views.run_page(self, request, run)
        return runs.run_page(self, request, object_id)

    def live_view(self, request, pk: int):
        run = self._data_run(request, pk)
        if run is not None:
            return copy_views.run_live(self, request, run)
        return runs.run_live(self, request, pk)


# --- audit ----------------------------------------------------------------------


EXPORT_FIELDS = [
    "id", "created_at", "actor", "actor_kind", "action", "target_id", "target_name", "run_id", "operation",
    "from_revision", "to_revision", "params", "sql_hash", "outcome", "error", "prev_hash", "hash",
]


def audit_rows(queryset) -> list[dict]:
    """The events as plain dicts in id order, as both exports write them."""
    rows = []
    for event in queryset.order_by("id"):
        row = {f: getattr(event, f) for f in EXPORT_FIELDS}
        row["created_at"] = event.created_at.isoformat()
        rows.append(row)
    return rows


def export_csv(queryset) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for row in audit_rows(queryset):
        row["params"] = json.dumps(row["params"], sort_keys=True)
        writer.writerow(row)
    return buf.getvalue()


def export_json(queryset) -> str:
    return json.dumps(audit_rows(queryset), indent=2, sort_keys=True)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only trail: read-only here, and the database refuses UPDATE and DELETE."""

    list_display = ["id", "created_at", "actor", "action", "outcome_display", "target_name", "run_link", "revisions"]
    # Filters that stay fast on a million events, and a date range (portal/home/audit_filters.py).
    list_filter = [audit_filters.TargetFilter, audit_filters.ActorFilter, audit_filters.ActorKindFilter,
                   audit_filters.ActionFilter, audit_filters.OutcomeFilter, audit_filters.DateRangeFilter]
    show_full_result_count = False
    paginator = audit_paginator.EstimatedCountPaginator
    search_fields = ["actor", "action", "target_name", "operation", "from_revision", "to_revision", "error",
                     "sql_hash", "hash"]
    actions = ["export_selected_csv", "export_selected_json"]
    change_list_template = "admin/ops/auditevent/change_list.html"
    Media = OpsMedia

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("ops.export_audit")

    def has_verify_permission(self, request) -> bool:
        return request.user.has_perm("ops.verify_audit_chain")

    @admin.display(description="run")
    def run_link(self, obj: AuditEvent) -> str:
        if not obj.run_id:
            return ""
        return format_html('<a href="{}">#{}</a>', reverse("admin:ops_run_change", args=[obj.run_id]), obj.run_id)

    @admin.display(description="operation: from → to")
    def revisions(self, obj: AuditEvent) -> str:
        if not (obj.operation or obj.from_revision or obj.to_revision):
            return ""
        if obj.operation in (Run.Operation.COPY, Run.Operation.VERIFY):
            # Data runs move rows, not revisions: "copy base → base" said nothing.
            return Run.Operation(obj.operation).label

        def short(revs: str) -> str:
            return ", ".join(r.strip()[:12] for r in revs.split(",")) if revs else "base"

        return format_html("{} <code>{}</code> → <code>{}</code>", obj.operation, short(obj.from_revision),
                           short(obj.to_revision))

    @admin.display(description="outcome", ordering="outcome")
    def outcome_display(self, obj: AuditEvent) -> str:
        if not obj.outcome:
            return ""
        # Words, not codes: a run status by its label ("Succeeded with rejects"), any other outcome spaced.
        label = dict(Run.Status.choices).get(obj.outcome) or obj.outcome.replace("_", " ")
        return status_badge(obj.outcome, str(label))

    @admin.action(permissions=["export"], description=_("Export selected as CSV"))
    def export_selected_csv(self, request, queryset):
        return self._export(request, queryset, export_csv(queryset), "text/csv", "csv")

    @admin.action(permissions=["export"], description=_("Export selected as JSON"))
    def export_selected_json(self, request, queryset):
        return self._export(request, queryset, export_json(queryset), "application/json", "json")

    def _export(self, request, queryset, body: str, content_type: str, ext: str) -> HttpResponse:
        services.require(request.user, "ops.export_audit")
        count = queryset.count()
        self.message_user(
            request, ngettext("Exported %d audit event.", "Exported %d audit events.", count) % count,
            messages.SUCCESS,
        )
        response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{now():%Y%m%d-%H%M%S}.{ext}"'
        return response

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_verify_chain": self.has_verify_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [*admin_urls.urls_for(self), *super().get_urls()]


# --- verification reports ------------------------------------------------------


@admin.register(VerificationReport)
class VerificationReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Stored reports: read-only; the change view is the report page (download, compare)."""

    list_display = ["id", "created_at", "target", "status_display", "mode", "run_link", "copy_link", "source_short"]
    list_filter = ["status", "mode", "target"]
    list_select_related = ["target", "run"]
    search_fields = ["=id", "target__name", "source_path", "source_sha256"]
    date_hierarchy = "created_at"
    Media = OpsMedia

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: VerificationReport) -> str:
        return status_badge({"pass": "succeeded", "warn": "cancelled", "fail": "failed"}[obj.status], obj.status)

    @admin.display(description="run")
    def run_link(self, obj: VerificationReport) -> str:
        return format_html('<a href="{}">#{}</a>', reverse("admin:ops_run_change", args=[obj.run_id]), obj.run_id)

    @admin.display(description="after copy")
    def copy_link(self, obj: VerificationReport) -> str:
        if not obj.copy_run_id:
            return ""
        return format_html('<a href="{}">#{}</a>', reverse("admin:ops_run_change", args=[obj.copy_run_id]),
                           obj.copy_run_id)

    @admin.display(description="source")
    def source_short(self, obj: VerificationReport) -> str:
        if not obj.source_path:
            return format_html('<span class="mop-muted">{}</span>', "target only")
        return format_html('{} <code title="sha256">{}</code>', obj.source_path, obj.source_sha256[:12])

    def get_urls(self):
        return [*admin_urls.urls_for(self), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return copy_views.report_page(self, request, object_id)


