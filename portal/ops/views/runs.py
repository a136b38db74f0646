"""The run page of upgrades, downgrades and stamps: steps, live log, cancel, what blocked it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.timezone import localtime

from migrations_ops.errors import OpsError

from .. import services
from ..models import Run, RunLog
from .activity import lock_snapshot_of_run, run_blockers_payload
from .page import context, object_pk
from .schema import findings_by_level

# Log lines sent per poll of the live endpoint.
LIVE_BATCH = 500


def _steps(run: Run) -> list[dict[str, Any]]:
    """Plan steps joined with their timings, for the table the live page keeps updated."""
    timings = list(run.step_timings or [])
    rows = []
    for i, step in enumerate(run.plan_steps or []):
        seconds = timings[i].get("seconds") if i < len(timings) else None
        state = "done" if i < run.steps_done else ("running" if i == run.steps_done and run.is_active else "pending")
        rows.append({**step, "seconds": seconds, "state": state})
    return rows


def _when(dt) -> str | None:
    """A timestamp as the page prints it (the admin's time zone)."""
    return date_format(localtime(dt), "Y-m-d H:i:s") if dt else None


def live_payload(run: Run, after: int) -> dict[str, Any]:
    lines = list(RunLog.objects.filter(run=run, id__gt=after).order_by("id")[:LIVE_BATCH])
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "active": run.is_active,
        "steps_done": run.steps_done,
        "steps_total": run.steps_total,
        "percent": run.percent,
        "current_step": run.current_step,
        "steps": _steps(run),
        "step_timings": run.step_timings,
        "result_heads": run.result_heads,
        "started_at": _when(run.started_at),
        "finished_at": _when(run.finished_at),
        "log": [
            {"id": ln.id, "at": ln.created_at.strftime("%H:%M:%S.%f")[:-3], "level": ln.level, "message": ln.message}
            for ln in lines
        ],
        "error": (
            {"message": run.error, "code": run.error_code, "explanation": run.error_explanation,
             "data": run.error_data}
            if run.error else None
        ),
    }


def run_page(model_admin, request, object_id):
    run = get_object_or_404(Run.objects.select_related("target", "requested_by"), pk=object_pk(object_id))
    if not model_admin.has_view_permission(request, run):
        raise PermissionDenied
    ctx = context(
        model_admin, request, f"Run #{run.pk}: {run.get_operation_display()} {run.revision} on {run.target.name}",
        run=run, original=run, steps=_steps(run), log_lines=run.log_lines.order_by("id"),
        live_url=reverse("admin:ops_run_live", args=[run.pk]),
        can_cancel=request.user.has_perm("ops.cancel_run") and run.is_active,
        error_data=[(k, v) for k, v in (run.error_data or {}).items()
                    if k not in {"message", "explanation", "code", "failure"}],
        failure=(run.error_data or {}).get("failure"),
        # Copies and verifications have no plan to review.
        findings=findings_by_level(run.safety_findings) if run.operation in Run.SCHEMA_OPERATIONS else None,
    )
    ctx["lock_snapshot"] = lock_snapshot_of_run(run)
    return TemplateResponse(request, "admin/ops/run/live.html", ctx)


def run_live(model_admin, request, pk: int):
    run = get_object_or_404(Run, pk=pk)
    if not model_admin.has_view_permission(request, run):
        raise PermissionDenied
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    payload = live_payload(run, after)
    payload["blockers"] = run_blockers_payload(request, run)
    return JsonResponse(payload)


def run_cancel(model_admin, request, pk: int):
    """POST only (the button sits in a form with a confirm); needs ops.cancel_run."""
    services.require(request.user, "ops.cancel_run")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    run = get_object_or_404(Run, pk=pk)
    try:
        run = services.cancel_run(run, user=request.user)
    except (ValidationError, OpsError) as exc:
        for msg in getattr(exc, "messages", [str(exc)]):
            messages.error(request, msg)
    else:
        messages.warning(request, f"Cancellation of run #{run.pk} requested.")
    return redirect(reverse("admin:ops_run_change", args=[pk]))
