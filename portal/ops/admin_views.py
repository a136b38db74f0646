"""Full admin pages: revision graph, target status, the schedule flow and the live run page.

Each view is reached through ``ModelAdmin.get_urls()`` wrapped in
``admin_site.admin_view`` (login required), takes its context from
``each_context`` and renders a template extending ``admin/base_site.html``.
Permissions are checked on the request itself with ``services.require``, so a
crafted POST from a user without the permission gets 403. Everything else
(plans, scheduling, cancelling, audit) is a ``services`` call.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.timezone import localtime

from migrations_ops.errors import OpsError

from . import audit, gates, revisions_page, services
from .forms import SYMBOLIC_REVISIONS, ConfirmForm, ScheduleForm, password_state
from .models import AlembicProject, Run, RunLog, Target
from .secrets import redact

log = logging.getLogger(__name__)

# The revisions page reads every target of the project; it waits this long in all.
STATUS_PAGE_BUDGET_SECONDS = 8
# Log lines sent per poll of the live endpoint.
LIVE_BATCH = 500


def _context(model_admin, request, title: str, **extra: Any) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        **extra,
    }


def object_pk(value) -> int:
    """A row number from a URL (the admin's ``<path:object_id>``): anything but a positive whole number is a 404,
    never a ``ValueError`` from the query (which Django answers with a 500).

    >>> object_pk("42"), object_pk(7)
    (42, 7)
    """
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise Http404(f"No row number {str(value)[:40]!r}")
    return int(text)


def _error(exc: Exception) -> dict[str, str]:
    """What a page shows about a failure: the engine's words, redacted, and its plain explanation."""
    return {"message": redact(str(exc)), "explanation": getattr(exc, "explanation", "")}


def _flash(request, exc: Exception) -> None:
    err = _error(exc)
    text = err["message"] + (f" — {err['explanation']}" if err["explanation"] else "")
    messages.error(request, text)


# --- revisions ------------------------------------------------------------------


def _status_or_error(target: Target) -> dict[str, Any]:
    try:
        return {"target": target, "status": services.target_status(target)}
    except (OpsError, ImproperlyConfigured) as exc:
        return {"target": target, "error": _error(exc)}
    finally:
        connection.close()  # this runs in a pool thread: give its DB connection back


def _statuses(targets: list[Target]) -> list[dict[str, Any]]:
    """Read every target at once so that one unreachable server does not stall the page."""
    if not targets:
        return []
    pool = ThreadPoolExecutor(max_workers=min(8, len(targets)))
    futures = [pool.submit(_status_or_error, t) for t in targets]
    out = []
    for target, fut in zip(targets, futures, strict=True):
        try:
            out.append(fut.result(timeout=STATUS_PAGE_BUDGET_SECONDS))
        except FutureTimeout:
            out.append({"target": target, "error": {
                "message": f"No answer from {target.where()} within {STATUS_PAGE_BUDGET_SECONDS} s",
                "explanation": "The server did not answer in time; its status is unknown. Open its status page "
                               "to try again.",
            }})
    pool.shutdown(wait=False)
    return out


def project_revisions(model_admin, request, pk: int):
    project = get_object_or_404(AlembicProject, pk=pk)
    ctx = _context(model_admin, request, f"Revisions of {project.name}", project=project, original=project)
    try:
        listing = revisions_page.listing_of(project)  # cached per scripts fingerprint
    except OpsError as exc:
        ctx["error"] = _error(exc)
        return TemplateResponse(request, "admin/ops/alembicproject/revisions.html", ctx)
    targets = list(project.targets.order_by("name"))
    statuses = _statuses(targets)
    marks: dict[str, list[str]] = {}
    for row in statuses:
        if "status" in row:
            for rev in row["status"].current or ("base",):
                marks.setdefault(rev, []).append(row["target"].name)
    ctx.update(
        listing=listing,
        statuses=statuses,
        marks=marks,
        can_schedule=request.user.has_perm("ops.schedule_run"),
        **revisions_page.graph_context(request, listing, marks),
    )
    return TemplateResponse(request, "admin/ops/alembicproject/revisions.html", ctx)


# --- target status --------------------------------------------------------------


def target_status(model_admin, request, pk: int):
    target = get_object_or_404(Target.objects.select_related("project"), pk=pk)
    ctx = _context(
        model_admin, request, f"Status of {target.name}", target=target, original=target,
        password_state=password_state(target),
        can_schedule=request.user.has_perm("ops.schedule_run"),
        recent_runs=target.runs.order_by("-created_at")[:10],
    )
    try:
        ctx["status"] = services.target_status(target)
    except (OpsError, ImproperlyConfigured) as exc:
        ctx["error"] = _error(exc)
    return TemplateResponse(request, "admin/ops/target/status.html", ctx)


# --- schedule flow (the delete_selected pattern) --------------------------------


def _known_revisions(target: Target) -> list[str]:
    try:
        listing = services.project_listing(target.project)
    except OpsError:
        return list(SYMBOLIC_REVISIONS)
    return [*SYMBOLIC_REVISIONS, *(r.id for r in listing.revisions),
            *sorted({f"{label}@head" for r in listing.revisions for label in r.branch_labels})]


def _render_form(model_admin, request, target: Target, form: ScheduleForm):
    ctx = _context(
        model_admin, request, f"Schedule a run on {target.name}", target=target, original=target, form=form,
        known_revisions=_known_revisions(target),
    )
    return TemplateResponse(request, "admin/ops/target/schedule.html", ctx)


FINDING_LEVELS = (("danger", "Danger"), ("warning", "Warning"), ("info", "Info"))


def findings_by_level(findings: list[dict]) -> list[dict[str, Any]]:
    """Safety findings (their JSON) grouped danger, warning, info, for the confirm and run pages."""
    groups = []
    for level, label in FINDING_LEVELS:
        items = [f for f in findings or () if f.get("level") == level]
        if items:
            groups.append({"level": level, "label": label, "findings": items})
    return groups


def _render_confirm(model_admin, request, target: Target, form: ScheduleForm, plan):
    data = form.cleaned_data
    confirm = ConfirmForm(initial={
        "operation": data["operation"], "revision": data["revision"],
        "lock_timeout_ms": data.get("lock_timeout_ms"), "statement_timeout_ms": data.get("statement_timeout_ms"),
        "lock_retries": data.get("lock_retries"),
        "expected_from": ",".join(plan.from_heads), "sql_hash": plan.sql_hash,
    })
    ctx = _context(
        model_admin, request, f"Confirm {data['operation']} of {target.name}", target=target, original=target,
        plan=plan, form=confirm, operation=data["operation"], revision=data["revision"],
        lock_timeout_ms=data.get("lock_timeout_ms") or target.lock_timeout_ms,
        statement_timeout_ms=data.get("statement_timeout_ms") or target.statement_timeout_ms,
        lock_retries=target.lock_retries if data.get("lock_retries") is None else data["lock_retries"],
        needs_name=services.needs_confirmation(target, data["operation"]),
        findings=findings_by_level(plan.findings_json()),
        **gates.confirm_context(target, plan),  # change control: live risk, approvals needed, next window
    )
    return TemplateResponse(request, "admin/ops/target/schedule_confirm.html", ctx)


def schedule(model_admin, request, pk: int):
    """GET: the form. POST: preview the plan and render the confirm page. POST post=yes: schedule."""
    services.require(request.user, "ops.schedule_run")
    target = get_object_or_404(Target.objects.select_related("project"), pk=pk)
    if request.method == "GET":
        operation = request.GET.get("operation", Run.Operation.UPGRADE)
        return _render_form(model_admin, request, target, ScheduleForm(initial={
            "operation": operation, "revision": request.GET.get("revision", "head"),
        }))
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    confirming = request.POST.get("post") == "yes"
    form = (ConfirmForm if confirming else ScheduleForm)(request.POST)
    if not form.is_valid():
        return _render_form(model_admin, request, target, form)
    data = form.cleaned_data
    if confirming:
        try:
            run = services.schedule_run(
                target=target, operation=data["operation"], revision=data["revision"], user=request.user,
                expected_from=form.expected_heads(), confirm_name=data.get("confirm_name") or None,
                lock_timeout_ms=data.get("lock_timeout_ms"), statement_timeout_ms=data.get("statement_timeout_ms"),
                lock_retries=data.get("lock_retries"),
                acknowledge_preview_failure=bool(data.get("acknowledge_preview_failure")),
                start={"mode": request.POST.get("start_mode", ""), "at": request.POST.get("start_at", "")},
            )
        except ValidationError as exc:
            for msg in exc.messages:
                messages.error(request, msg)
        except OpsError as exc:
            _flash(request, exc)
            return _render_form(model_admin, request, target, ScheduleForm(initial=data))
        else:
            messages.success(request, f"Run #{run.pk} {run.get_status_display().lower()}: {run.operation} "
                                      f"{run.revision} on {target.name}.")
            return redirect(reverse("admin:ops_run_change", args=[run.pk]))
    try:
        plan = services.preview_plan(target, data["operation"], data["revision"])
    except (OpsError, ImproperlyConfigured) as exc:
        _flash(request, exc)
        return _render_form(model_admin, request, target, form)
    return _render_confirm(model_admin, request, target, form, plan)


# --- the run page ---------------------------------------------------------------


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
    ctx = _context(
        model_admin, request, f"Run #{run.pk}: {run.get_operation_display()} {run.revision} on {run.target.name}",
        run=run, original=run, steps=_steps(run), log_lines=run.log_lines.order_by("id"),
        live_url=reverse("admin:ops_run_live", args=[run.pk]),
        can_cancel=request.user.has_perm("ops.cancel_run") and run.is_active,
        error_data=[(k, v) for k, v in (run.error_data or {}).items()
                    if k not in {"message", "explanation", "code", "failure"}],
        failure=(run.error_data or {}).get("failure"),
        # Copies and verifications have no plan to review.
        findings=findings_by_level(run.safety_findings) if run.operation in services.RUN_OPERATIONS else None,
    )
    from .activity_views import lock_snapshot_of_run  # what was blocking when it failed

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
    from .activity_views import run_blockers_payload  # who blocks the run's backend, live

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


# --- audit ----------------------------------------------------------------------


def verify_chain(model_admin, request):
    """GET shows the check's button, POST runs it; both need ops.verify_audit_chain."""
    services.require(request.user, "ops.verify_audit_chain")
    report = audit.verify_chain() if request.method == "POST" else None
    ctx = _context(model_admin, request, "Verify the audit chain", report=report)
    return TemplateResponse(request, "admin/ops/auditevent/verify_chain.html", ctx)
