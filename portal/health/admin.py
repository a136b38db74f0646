"""Admin of health: the Health page per target, "since this run", thresholds, events, search parity checks."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from migrations_ops.health import human
from portal.ops.admin import OpsMedia, ReadOnlyAdminMixin
from portal.ops.models import Run, Target
from portal.ops.views.page import context, object_pk

from . import parity, services
from .models import HealthEvent, HealthSnapshot, HealthThreshold, ParityCheck


@admin.register(HealthSnapshot)
class HealthSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "target", "taken_at", "connections", "active", "blocked", "tps", "rollback_rate",
                    "size", "seconds", "page"]
    list_filter = ["target"]
    list_select_related = ["target"]
    readonly_fields = ["target", "taken_at", "connections", "active", "blocked", "longest_xact_seconds",
                       "size_bytes", "xact_commit", "xact_rollback", "tps", "rollback_rate", "deadlocks",
                       "temp_bytes", "seconds", "reading"]
    Media = OpsMedia

    @admin.display(description="size")
    def size(self, obj: HealthSnapshot) -> str:
        return human(obj.size_bytes, "bytes")

    @admin.display(description="health page")
    def page(self, obj: HealthSnapshot) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:health_target", args=[obj.target_id]),
                           obj.target.name)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("target/<int:target_id>/", view(self.target_view), name="health_target"),
                path("run/<int:run_id>/since/", view(self.since_view), name="health_since_run"),
                *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        targets = Target.objects.filter(is_active=True).order_by("name")
        return super().changelist_view(request, {**(extra_context or {}), "health_targets": targets})

    def target_view(self, request, target_id: int):
        target = get_object_or_404(Target, pk=target_id)
        window = request.GET.get("window", "6h")
        if window not in services.WINDOWS:
            window = "6h"
        try:
            hv = services.view(target, window, user=request.user)
        except PermissionDenied:
            raise
        runs = Run.objects.filter(target=target, status__in=Run.COMPLETED).order_by("-finished_at")[:10]
        ctx = {**context(self, request, f"Health of {target.name}"),
               "hv": hv, "target": target, "windows": list(services.WINDOWS),
               "charts": [mark_safe(c) for c in services.charts(hv)],  # noqa: S308 - the engine escapes every text
               "runs": runs}
        return TemplateResponse(request, "health/target.html", ctx)

    def since_view(self, request, run_id: int):
        run = get_object_or_404(Run.objects.select_related("target"), pk=run_id)
        error = ""
        s = None
        try:
            s = services.since_run(run, user=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        ctx = {**context(self, request, f"Health since run #{run.pk}"), "run": run, "since": s, "error": error}
        return TemplateResponse(request, "health/since_run.html", ctx)


@admin.register(HealthThreshold)
class HealthThresholdAdmin(admin.ModelAdmin):
    list_display = ["environment", "metric", "above", "for_minutes", "is_active"]
    list_filter = ["environment", "metric", "is_active"]
    raw_id_fields = ["since_run"]
    Media = OpsMedia


@admin.register(HealthEvent)
class HealthEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "target", "threshold", "value", "opened_at", "closed_at", "notified"]
    list_filter = ["target", "threshold__metric"]
    list_select_related = ["target", "threshold"]
    Media = OpsMedia


class ParityForm(forms.Form):
    target = forms.ModelChoiceField(queryset=Target.objects.filter(is_active=True).order_by("name"))
    sqlite = forms.CharField(max_length=1000, label="SQLite file", help_text="Relative to MOP_IMPORT_DIR.")
    table = forms.CharField(max_length=200, help_text="The FTS5 table (its copy in the target has the same name).")
    schema = forms.CharField(max_length=63, initial="public")
    regconfig = forms.CharField(max_length=63, required=False, label="Text search configuration",
                                help_text="simple, english, ... (empty: the one the column was built with).")
    queries = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
                              help_text='One per line: word, a b (AND), "a b" (phrase), word* (prefix). '
                                        "Empty: drawn from the data.")
    count = forms.IntegerField(min_value=1, max_value=parity.QUERIES_MAX, initial=20)


@admin.register(ParityCheck)
class ParityCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "target", "table", "regconfig", "status", "matching", "total", "created_at", "actor"]
    list_filter = ["status", "target"]
    list_select_related = ["target"]
    Media = OpsMedia

    def has_add_permission(self, request):
        return request.user.has_perm("health.add_paritycheck") and request.user.has_perm("ops.schedule_run")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {k: request.GET[k] for k in ("target", "sqlite", "table", "schema", "regconfig", "queries", "count")
                   if k in request.GET}
        form = ParityForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                check = parity.request_check(d["target"], sqlite=d["sqlite"], table=d["table"], schema=d["schema"],
                                             regconfig=d["regconfig"], queries=d["queries"].splitlines(),
                                             count=d["count"], user=request.user)
            except ValidationError as exc:
                for m in exc.messages:
                    form.add_error(None, m)
            else:
                messages.info(request, f"Search parity check #{check.pk} queued.")
                return redirect(reverse("admin:health_paritycheck_change", args=[check.pk]))
        ctx = {**context(self, request, "Check search parity"),
               "form": form}
        return TemplateResponse(request, "health/parity_form.html", ctx)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        check = get_object_or_404(ParityCheck.objects.select_related("target"), pk=object_pk(object_id))
        if not self.has_view_permission(request, check):
            raise PermissionDenied
        ctx = {**context(self, request, str(check)), "original": check, "check": check, "report": parity.report_of(check),
               "can_rerun": self.has_add_permission(request), "queries_text": "\n".join(check.queries)}
        return TemplateResponse(request, "health/parity.html", ctx)
