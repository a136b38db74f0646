"""The drift state column of the target list (portal.ops's TargetAdmin shows it)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

BADGE = {"clean": "succeeded", "drift": "failed", "error": "cancelled", "unknown": "queued"}


@admin.display(description="drift")
def drift_state_column(obj) -> str:
    conf = getattr(obj, "assurance", None)
    if conf is None:
        return format_html('<span class="mop-muted">{}</span>', "not checked")
    badge = format_html('<span class="mop-badge mop-status-{}">{}</span>', BADGE.get(conf.drift_state, "queued"),
                        conf.get_drift_state_display())
    if conf.last_check_id:
        return format_html('<a href="{}">{}</a>', reverse("admin:assure_driftcheck_change", args=[conf.last_check_id]),
                           badge)
    return badge
