"""``{% recovery_guidance run %}``: the recovery panel of a failed or interrupted run's page."""

from __future__ import annotations

from django import template

from ..recovery import applies, guidance

register = template.Library()


@register.inclusion_tag("assure/recovery.html", takes_context=True)
def recovery_guidance(context, run):
    """Empty unless the run failed, was cancelled or interrupted (then reads the target's version table)."""
    if not applies(run):
        return {"show": False}
    request = context.get("request")
    can_schedule = bool(request and request.user.has_perm("ops.schedule_run"))
    return {"show": True, "run": run, "g": guidance(run), "can_schedule": can_schedule}
