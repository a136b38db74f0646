"""Admin pages of a target's live activity and blocking tree, its snapshots, cancel/terminate.

Reached through ``TargetAdmin.get_urls()`` wrapped in ``admin_site.admin_view``;
every view checks its permission on the request itself (``services.require``),
so a crafted POST from a user without it gets 403. The work and the rules
are ``diagnostics`` calls; these functions only shape pages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe

from migrations_ops import locks
from migrations_ops.errors import OpsError
from migrations_ops.locks.errors import BackendHidden

from .. import diagnostics, services
from ..forms import BackendActionForm
from ..models import LockSnapshot, Run, Target
from .page import context, error

# Refresh intervals the activity page offers, in seconds; the first page load uses DEFAULT_INTERVAL.
INTERVALS = (2, 5, 10, 30, 60)
DEFAULT_INTERVAL = 5


def _target(pk: int) -> Target:
    return get_object_or_404(Target.objects.select_related("project"), pk=pk)


def _fragment_context(request, target: Target, snap: locks.Snapshot | None, *, live: bool, next_url: str = "",
                      error: dict | None = None) -> dict[str, Any]:
    """What ``_snapshot.html`` needs: the snapshot, its tree's rows and picture, and who may act."""
    if snap is None:
        return {"error": error, "target": target}
    user = request.user
    return {
        "target": target,
        "snap": snap,
        "rows": list(snap.tree.walk()),
        "root_count": sum(1 for r in snap.tree.roots if r.blocks_transitively),
        "svg": mark_safe(locks.render_tree_svg(snap.tree)),  # noqa: S308 - the engine escapes every text
        "live": live,
        "can_cancel": live and user.has_perm("ops.cancel_backend"),
        "can_terminate": live and user.has_perm("ops.terminate_backend"),
        "cancel_url": reverse("admin:ops_target_backend", args=[target.pk, "cancel"]),
        "terminate_url": reverse("admin:ops_target_backend", args=[target.pk, "terminate"]),
        "next_url": next_url or reverse("admin:ops_target_activity", args=[target.pk]),
    }


def _look(request, target: Target) -> dict[str, Any]:
    try:
        snap = diagnostics.look(target, user=request.user)
    except OpsError as exc:
        return _fragment_context(request, target, None, live=True, error=error(exc))
    return _fragment_context(request, target, snap, live=True)


def activity(model_admin, request, pk: int):
    """The live page: summary strip, blocking tree (table and picture), the lists; refreshes itself."""
    services.require(request.user, "ops.view_target")
    target = _target(pk)
    try:
        interval = int(request.GET.get("every", DEFAULT_INTERVAL))
    except ValueError:
        interval = DEFAULT_INTERVAL
    ctx = context(
        model_admin, request, f"Activity and locks of {target.name}", original=target,
        intervals=INTERVALS, interval=interval if interval in INTERVALS else DEFAULT_INTERVAL,
        can_snapshot=request.user.has_perm("ops.schedule_run"), **_look(request, target),
    )
    return TemplateResponse(request, "admin/ops/activity/activity.html", ctx)


def activity_live(model_admin, request, pk: int):
    """What the page polls: the fragment re-rendered, and a few figures for scripts and tests."""
    services.require(request.user, "ops.view_target")
    target = _target(pk)
    ctx = _look(request, target)
    snap = ctx.get("snap")
    return JsonResponse({
        "ok": snap is not None,
        "html": render_to_string("admin/ops/activity/_snapshot.html", ctx, request=request),
        "taken_at": snap.taken_at.isoformat() if snap else None,
        "blocked": snap.tree.blocked_count if snap else None,
        "roots": [{"pid": r.pid, "blocks_directly": r.blocks_directly, "blocks_transitively": r.blocks_transitively}
                  for r in snap.tree.roots] if snap else [],
        "error": ctx.get("error"),
    })


# --- snapshots ----------------------------------------------------------------------


def snapshot_take(model_admin, request, pk: int):
    """POST: keep a snapshot now (ops.schedule_run) and open it."""
    services.require(request.user, "ops.schedule_run")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    target = _target(pk)
    try:
        row = diagnostics.store_snapshot(target, LockSnapshot.Reason.MANUAL, user=request.user)
    except (OpsError, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect(reverse("admin:ops_target_activity", args=[pk]))
    messages.success(request, f"Snapshot kept: {row.root_blockers} root blocker(s), {row.blocked} session(s) blocked.")
    return redirect(reverse("admin:ops_target_snapshot", args=[pk, row.pk]))


def snapshots(model_admin, request, pk: int):
    """The target's snapshots by time: which one was taken around 02:00?"""
    services.require(request.user, "ops.view_target")
    target = _target(pk)
    ctx = context(
        model_admin, request, f"Lock snapshots of {target.name}", original=target, target=target,
        snapshots=diagnostics.history(target, user=request.user),
        retention_days=settings.MOP_SNAPSHOT_RETENTION_DAYS,
        can_snapshot=request.user.has_perm("ops.schedule_run"),
    )
    return TemplateResponse(request, "admin/ops/activity/snapshots.html", ctx)


def snapshot(model_admin, request, pk: int, sid: int):
    """One snapshot, drawn as the live page draws the target now (without the buttons)."""
    services.require(request.user, "ops.view_target")
    target = _target(pk)
    row = get_object_or_404(LockSnapshot.objects.select_related("run"), pk=sid, target=target)
    ctx = context(
        model_admin, request, f"Lock snapshot of {target.name}", original=target, row=row,
        run_blocker=_run_blocker(row),
        **_fragment_context(request, target, diagnostics.snapshot_of(row), live=False),
    )
    return TemplateResponse(request, "admin/ops/activity/snapshot.html", ctx)


def _run_blocker(row: LockSnapshot) -> dict[str, Any] | None:
    """The blocker the failed run's LockTimeout named (the run's backend had gone when the snapshot was read)."""
    data = (row.run.error_data or {}) if row.run_id and row.run else {}
    if data.get("blocker_pid") is None:
        return None
    return {k: data.get(f"blocker_{k}") for k in ("pid", "application", "state", "query")}


# --- cancel / terminate (the delete_selected pattern) --------------------------------


def _next_url(request, target: Target) -> str:
    url = request.POST.get("next") or ""
    # only a path of this site: anything else would be taken by redirect() for a view name (NoReverseMatch)
    if url.startswith("/") and not url.startswith("//") and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return reverse("admin:ops_target_activity", args=[target.pk])


def backend_action(model_admin, request, pk: int, action: str):
    """POST pid + backend_start: the confirm page with the backend's row; POST post=yes + reason: act."""
    if action not in diagnostics.ACTIONS:
        raise Http404(f"No backend action {action!r}")
    services.require(request.user, diagnostics.ACTIONS[action][0])
    services.require(request.user, "ops.view_target")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    target = _target(pk)
    next_url = _next_url(request, target)
    confirming = request.POST.get("post") == "yes"
    form = BackendActionForm(request.POST, confirming=confirming)
    if not form.is_valid() and ("pid" in form.errors or "backend_start" in form.errors):
        messages.error(request, "No backend chosen: pick one on the activity page.")
        return redirect(next_url)
    if confirming and form.is_valid():
        data = form.cleaned_data
        try:
            result = diagnostics.signal_backend(
                target, action, pid=data["pid"], backend_start=data["backend_start"], reason=data["reason"],
                user=request.user,
            )
        except ValidationError as exc:
            form.add_error("reason", exc.messages)
        except OpsError as exc:
            err = error(exc)
            messages.error(request, err["message"] + (f" — {err['explanation']}" if err["explanation"] else ""))
            return redirect(next_url)
        else:
            _report(request, action, result)
            return redirect(next_url)
    return _confirm(model_admin, request, target, action, form, next_url)


def _confirm(model_admin, request, target: Target, action: str, form: BackendActionForm, next_url: str):
    pid = form.cleaned_data.get("pid") if hasattr(form, "cleaned_data") else None
    try:
        found = diagnostics.backend(target, pid, user=request.user) if pid else None
    except OpsError as exc:
        messages.error(request, str(exc))
        return redirect(next_url)
    if found is None:
        messages.warning(request, f"Backend {pid} no longer exists; nothing to {action}.")
        return redirect(next_url)
    posted = form.cleaned_data.get("backend_start", "")
    if found.backend_start is None:
        hidden = BackendHidden(pid)
        messages.error(request, f"{hidden} — {hidden.explanation}")
        return redirect(next_url)
    if not _same_start(found.backend_start, posted):
        messages.warning(
            request, f"Backend {pid} is now another session (started "
                     f"{found.backend_start.isoformat() if found.backend_start else '?'}, not {posted}): the one you "
                     "chose has ended and its pid was reused. Nothing was done.",
        )
        return redirect(next_url)
    ctx = context(
        model_admin, request, f"{action.capitalize()} backend {pid} on {target.name}?", original=target,
        target=target, action=action, backend=found, form=form, next_url=next_url,
        row_items=sorted(found.row.items()),
    )
    return TemplateResponse(request, "admin/ops/activity/backend_confirm.html", ctx)


def _same_start(actual, posted: str) -> bool:
    try:
        return actual == dt.datetime.fromisoformat(posted.strip())
    except ValueError:
        return False


def _report(request, action: str, result: locks.ActionResult) -> None:
    done = "cancelled" if action == "cancel" else "terminated"
    if not result.blocked_before:
        messages.success(request, f"Backend {result.pid} {done}. It blocked nobody.")
    elif result.cleared:
        messages.success(
            request, f"Backend {result.pid} {done}: the blocking cleared; the {len(result.blocked_before)} "
                     "session(s) it blocked are no longer waiting on a lock.",
        )
    else:
        still = ", ".join(str(p) for p in result.still_blocked)
        messages.warning(
            request, f"Backend {result.pid} {done}, but sessions {still} still wait on a lock at the last look.",
        )


# --- the run page -------------------------------------------------------------------


def run_blockers_payload(request, run: Run) -> dict[str, Any] | None:
    """For the live run page: who blocks the run's backend now (None unless it is running).

    A failure to look is shown in the fragment, never breaks the run's own polling.
    """
    if run.status != Run.Status.RUNNING:
        return None
    target = run.target
    next_url = reverse("admin:ops_run_change", args=[run.pk])
    try:
        tree = diagnostics.run_blockers(run, user=request.user)
    except OpsError as exc:
        return {"count": 0, "html": "", "error": error(exc)}
    if not tree:
        return {"count": 0, "html": "", "error": None}
    user = request.user
    ctx = {
        "rows": list(tree.walk()), "live": True, "tree_id": "mop-run-blockers-tree", "target": target,
        "can_cancel": user.has_perm("ops.cancel_backend"), "can_terminate": user.has_perm("ops.terminate_backend"),
        "cancel_url": reverse("admin:ops_target_backend", args=[target.pk, "cancel"]),
        "terminate_url": reverse("admin:ops_target_backend", args=[target.pk, "terminate"]),
        "next_url": next_url,
    }
    return {
        "count": sum(1 for _, n in tree.walk() if n.run_id != run.pk),
        "html": render_to_string("admin/ops/activity/_tree.html", ctx, request=request),
        "error": None,
    }


def lock_snapshot_of_run(run: Run) -> LockSnapshot | None:
    """The snapshot kept when the run failed on lock_timeout, if any (reads the DB)."""
    return run.lock_snapshots.filter(reason=LockSnapshot.Reason.RUN_FAILED).order_by("-taken_at").first()
