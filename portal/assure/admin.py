"""Admin of rehearsals, backups and drift: settings per target, check and rehearsal pages, baseline acceptance."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from migrations_ops.errors import OpsError
from portal.ops.admin import OpsMedia, ReadOnlyAdminMixin
from portal.ops.models import Target
from portal.ops.views.page import object_pk

from . import drift, rehearsing, requirements, svg
from .admin_columns import BADGE
from .models import Backup, DriftCheck, DriftEvent, Rehearsal, SchemaBaseline, TargetAssurance
from .tasks import check_drift as check_drift_task
from .tasks import restore_test as restore_test_task


class RehearsalForm(forms.Form):
    target = forms.ModelChoiceField(queryset=Target.objects.filter(is_active=True).order_by("name"))
    operation = forms.ChoiceField(choices=[("upgrade", "Upgrade"), ("downgrade", "Downgrade")])
    revision = forms.CharField(max_length=200, help_text="head, an id, +N, -N, base, label@head")
    with_data = forms.IntegerField(required=False, min_value=0, max_value=rehearsing.MAX_SAMPLE_ROWS,
                                   label="Sample rows per table", help_text="0 or empty: schema only")


def _badge(state: str, label: str) -> str:
    return format_html('<span class="mop-badge mop-status-{}">{}</span>', BADGE.get(state, state), label)


@admin.register(TargetAssurance)
class TargetAssuranceAdmin(admin.ModelAdmin):
    list_display = ["target", "drift_badge", "drift_since", "policy_needs", "drift_check_minutes", "rehearsal_server"]
    list_select_related = ["target", "rehearsal_server"]
    list_filter = ["drift_state", "target__environment"]
    readonly_fields = ["drift_state", "drift_since", "last_check"]
    actions = ["check_now"]
    Media = OpsMedia

    @admin.display(description="drift")
    def drift_badge(self, obj: TargetAssurance) -> str:
        return _badge(obj.drift_state, obj.get_drift_state_display())

    @admin.display(description="its environment's policy asks")
    def policy_needs(self, obj: TargetAssurance) -> str:
        """The requirements of the target's environment (change control), linked to that policy."""
        policy = requirements.policy_of(obj.target)
        text = requirements.summary(policy)
        if policy.pk is None:
            return text
        return format_html('<a href="{}">{}</a>', reverse("admin:change_policy_change", args=[policy.pk]), text)

    @admin.action(permissions=["run_drift_check"], description="Check drift now (on a worker)")
    def check_now(self, request, queryset):
        count = _queue_checks(queryset, request.user.get_username())
        self.message_user(request, ngettext("%d drift check queued.", "%d drift checks queued.", count) % count,
                          messages.SUCCESS)

    def has_run_drift_check_permission(self, request) -> bool:
        return request.user.has_perm("assure.run_drift_check")


def _queue_checks(queryset, who: str) -> int:
    for conf in queryset:
        check_drift_task.delay(conf.target_id, who)
    return len(queryset)


@admin.register(DriftCheck)
class DriftCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "target", "checked_at", "state_badge", "source", "objects", "actor", "seconds"]
    list_filter = ["state", "source", "target"]
    list_select_related = ["target"]
    Media = OpsMedia

    @admin.display(description="state")
    def state_badge(self, obj: DriftCheck) -> str:
        return _badge(obj.state, obj.get_state_display())

    @admin.display(description="objects")
    def objects(self, obj: DriftCheck) -> int:
        return len(obj.schema_changes) + len(obj.revision_findings)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<int:pk>/accept/", view(self.accept_view), name="assure_driftcheck_accept"),
                *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        check = get_object_or_404(DriftCheck.objects.select_related("target"), pk=object_pk(object_id))
        if not self.has_view_permission(request, check):
            raise PermissionDenied
        latest = DriftCheck.objects.filter(target=check.target).aggregate(m=Max("id"))["m"]
        ctx = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": check,
               "title": f"Drift check #{check.pk} of {check.target.name}", "check": check,
               "picture": svg.drift_picture(check.schema_changes),
               "events": drift.drift_history(check.target, 20),
               "baselines": SchemaBaseline.objects.filter(target=check.target)[:5],
               "can_accept": (request.user.has_perm("assure.accept_baseline") and check.pk == latest
                              and bool(check.live_snapshot) and check.state != "clean")}
        return TemplateResponse(request, "assure/drift_check.html", ctx)

    def accept_view(self, request, pk: int):
        check = get_object_or_404(DriftCheck.objects.select_related("target"), pk=pk)
        if request.method != "POST":
            return redirect(reverse("admin:assure_driftcheck_change", args=[pk]))
        try:
            drift.accept_baseline(check, user=request.user, comment=request.POST.get("comment", ""))
        except ValidationError as exc:
            for msg in exc.messages:
                messages.error(request, msg)
        else:
            messages.success(request, f"The schema of {check.target.name} is accepted as its baseline.")
        return redirect(reverse("admin:assure_driftcheck_change", args=[pk]))


@admin.register(DriftEvent)
class DriftEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "target", "kind", "actor", "summary"]
    list_filter = ["kind", "target"]
    list_select_related = ["target"]


@admin.register(SchemaBaseline)
class SchemaBaselineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["target", "heads", "accepted_by", "accepted_at", "comment"]
    exclude = ["snapshot"]
    list_select_related = ["target"]


@admin.register(Rehearsal)
class RehearsalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "target", "operation", "revision", "status_badge", "with_data", "server_name", "actor",
                    "created_at"]
    list_filter = ["status", "target"]
    list_select_related = ["target"]
    Media = OpsMedia

    @admin.display(description="status")
    def status_badge(self, obj: Rehearsal) -> str:
        state = {"passed": "succeeded", "failed": "failed", "error": "cancelled"}.get(obj.status, obj.status)
        return format_html('<span class="mop-badge mop-status-{}">{}</span>', state, obj.get_status_display())

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("assure.request_rehearsal")

    def add_view(self, request, form_url="", extra_context=None):
        """The "Rehearse a plan" form: target, revision, direction, sample rows; POST queues it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = RehearsalForm(request.POST or None, initial={"revision": "head", "operation": "upgrade"})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                r = rehearsing.request_rehearsal(data["target"], data["revision"], operation=data["operation"],
                                                 with_data=data["with_data"] or 0, user=request.user)
            except ValidationError as exc:
                for msg in exc.messages:
                    messages.error(request, msg)
            except OpsError as exc:
                messages.error(request, f"{exc} {exc.explanation}".strip())
            else:
                messages.success(request, f"Rehearsal #{r.pk} queued on {r.server_name}.")
                return redirect(reverse("admin:assure_rehearsal_change", args=[r.pk]))
        ctx = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Rehearse a plan",
               "form": form}
        return TemplateResponse(request, "assure/rehearse_form.html", ctx)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        r = get_object_or_404(Rehearsal.objects.select_related("target"), pk=object_pk(object_id))
        if not self.has_view_permission(request, r):
            raise PermissionDenied
        ctx = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": r,
               "title": f"Rehearsal #{r.pk}: {r.operation} {r.revision} on {r.target.name}", "r": r,
               "picture": svg.rehearsal_picture(r.report), "problems": (r.error or "").splitlines()}
        return TemplateResponse(request, "assure/rehearsal.html", ctx)


@admin.register(Backup)
class BackupAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "target", "run", "created_at", "status", "scope", "size", "sha256_short", "restore_result"]
    list_filter = ["status", "scope", "target"]
    list_select_related = ["target"]
    actions = ["restore_test"]

    @admin.display(description="sha256")
    def sha256_short(self, obj: Backup) -> str:
        return obj.sha256[:16]

    @admin.display(description="restore test")
    def restore_result(self, obj: Backup) -> str:
        if not obj.restore_test:
            return "—"
        return "passed" if obj.restore_test.get("passed") else "FAILED: " + "; ".join(obj.restore_test["problems"])

    @admin.action(permissions=["restore_test"], description="Restore test (into a scratch database, on a worker)")
    def restore_test(self, request, queryset):
        for b in queryset:
            restore_test_task.delay(b.pk, request.user.get_username())
        self.message_user(request, f"{len(queryset)} restore test(s) queued.", messages.SUCCESS)

    def has_restore_test_permission(self, request) -> bool:
        return request.user.has_perm("assure.restore_test_backup")


