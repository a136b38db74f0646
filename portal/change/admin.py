"""Change control in the admin: policies, windows, channels (edited), requests and deliveries (read only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html

from portal.ops import secrets

from . import views, windows
from .models import Approval, ChangeRequest, MaintenanceWindow, Notification, NotificationChannel, Policy


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["environment", "approval_from", "approvals_required", "approvals_required_high",
                    "approver_group", "requester_may_approve", "allow_outside_window", "rehearsal_required",
                    "rehearsal_max_age_hours", "backup_scope", "allow_open_drift"]
    fieldsets = [
        (None, {"fields": ["environment"]}),
        ("Approval", {"fields": ["approval_from", "approvals_required", "approvals_required_high", "approver_group",
                                 "requester_may_approve", "approval_valid_minutes"]}),
        ("When", {"fields": ["allow_outside_window"]}),
        ("Before the run (rehearsal, backup, drift)", {
            "fields": ["rehearsal_required", "rehearsal_max_age_hours", "backup_scope", "allow_open_drift"],
            "description": "Checked when an upgrade or downgrade is scheduled and again when a worker starts it. "
                           "The rehearsal server, backup directory and retention are set per target "
                           "(Target assurance settings)."}),
        ("Record", {"fields": ["updated_at"]}),
    ]


class WindowForm(forms.ModelForm):
    class Meta:
        model = MaintenanceWindow
        fields = "__all__"

    def clean(self):
        data = super().clean()
        if data.get("kind") == MaintenanceWindow.Kind.RECURRING:
            windows.parse_cron(data.get("cron") or "")
            windows.zone(data.get("timezone") or "")
        elif not (data.get("starts_at") and data.get("ends_at")) or data["starts_at"] >= data["ends_at"]:
            raise forms.ValidationError("A one-off window needs a start before its end")
        if not data.get("target") and not data.get("environment"):
            raise forms.ValidationError("Choose a target or an environment")
        return data


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    form = WindowForm
    list_display = ["name", "target", "environment", "kind", "cron", "duration_minutes", "timezone", "next_opening",
                    "is_active"]
    list_select_related = ["target"]

    @admin.display(description="next opening")
    def next_opening(self, obj):
        from django.utils.timezone import now

        try:
            found = windows.next_open(obj, now())
        except Exception:  # noqa: BLE001 - a bad row shows as such, never a 500 on the list
            return "invalid"
        return f"{found[0]:%Y-%m-%d %H:%M} UTC" if found else "none"


class ChannelForm(forms.ModelForm):
    url = forms.URLField(required=False, assume_scheme="https", max_length=500, help_text="Webhook URL (webhook and Slack kinds).")
    secret = forms.CharField(required=False, widget=forms.PasswordInput, help_text="Signing secret (kept encrypted; "
                             "leave empty to keep the current one).")

    class Meta:
        model = NotificationChannel
        fields = ["name", "environment", "kind", "url", "secret", "emails", "events", "is_active"]

    def save(self, commit=True):
        obj = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            obj.secret_encrypted = secrets.encrypt(self.cleaned_data["secret"])
        if commit:
            obj.save()
        return obj


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "environment", "kind", "url", "is_active"]


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "event", "run", "channel", "status", "attempts", "last_error"]
    list_filter = ["status", "event"]
    list_select_related = ["channel", "run"]


class ApprovalInline(ReadOnly, admin.TabularInline):
    model = Approval
    fields = ["user", "decision", "comment", "created_at", "expires_at", "invalidated_reason"]
    readonly_fields = fields
    extra = 0


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["run_link", "status", "risk_level", "approvals_required", "start_mode", "start_at", "window_end"]
    list_filter = ["risk_level", "run__status"]
    list_select_related = ["run", "run__target"]
    inlines = [ApprovalInline]
    exclude = ["risk", "finding_groups"]

    @admin.display(description="run")
    def run_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:ops_run_change", args=[obj.run_id]), obj.run)

    @admin.display(description="status")
    def status(self, obj):
        return obj.run.get_status_display()

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("approvals/", view(self.approvals_view), name="change_changerequest_approvals"),
            path("decide/<int:run_id>/", view(self.decide_view), name="change_changerequest_decide"),
            *super().get_urls(),
        ]

    def approvals_view(self, request):
        return views.approvals_page(self, request)

    def decide_view(self, request, run_id: int):
        return views.decide(self, request, run_id)
