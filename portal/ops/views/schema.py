"""Alembic pages: revision graph, target status and the schedule flow (preview, findings, confirm).

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
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from migrations_ops.errors import OpsError

from .. import gates, permissions, services, status
from ..forms import SYMBOLIC_REVISIONS, ConfirmForm, ScheduleForm, password_state
from ..models import AlembicProject, Run, Target
from . import revisions as revisions_page
from .page import context, error, flash

log = logging.getLogger(__name__)

# The revisions page reads every target of the project; it waits this long in all.
STATUS_PAGE_BUDGET_SECONDS = 8


# --- revisions ------------------------------------------------------------------


def _status_or_error(target: Target) -> dict[str, Any]:
    try:
        return {"target": target, "status": status.target_status(target)}
    except OpsError as exc:
        return {"target": target, "error": error(exc)}
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
    ctx = context(model_admin, request, f"Revisions of {project.name}", project=project, original=project)
    try:
        listing = revisions_page.listing_of(project)  # cached per scripts fingerprint
    except OpsError as exc:
        ctx["error"] = error(exc)
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
    ctx = context(
        model_admin, request, f"Status of {target.name}", target=target, original=target,
        password_state=password_state(target),
        can_schedule=request.user.has_perm("ops.schedule_run"),
        recent_runs=target.runs.order_by("-created_at")[:10],
    )
    try:
        ctx["status"] = status.target_status(target)
    except OpsError as exc:
        ctx["error"] = error(exc)
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
    ctx = context(
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
    ctx = context(
        model_admin, request, f"Confirm {data['operation']} of {target.name}", target=target, original=target,
        plan=plan, form=confirm, operation=data["operation"], revision=data["revision"],
        lock_timeout_ms=data.get("lock_timeout_ms") or target.lock_timeout_ms,
        statement_timeout_ms=data.get("statement_timeout_ms") or target.statement_timeout_ms,
        lock_retries=target.lock_retries if data.get("lock_retries") is None else data["lock_retries"],
        needs_name=permissions.needs_confirmation(target, data["operation"]),
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
            flash(request, exc)
            return _render_form(model_admin, request, target, ScheduleForm(initial=data))
        else:
            messages.success(request, f"Run #{run.pk} {run.get_status_display().lower()}: {run.operation} "
                                      f"{run.revision} on {target.name}.")
            return redirect(reverse("admin:ops_run_change", args=[run.pk]))
    try:
        plan = services.preview_plan(target, data["operation"], data["revision"])
    except OpsError as exc:
        flash(request, exc)
        return _render_form(model_admin, request, target, form)
    return _render_confirm(model_admin, request, target, form, plan)


# --- the run page ---------------------------------------------------------------


# --- audit ----------------------------------------------------------------------


