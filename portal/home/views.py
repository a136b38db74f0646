"""The dashboard page, its live fragment, and the two small actions it offers.

Reads stored rows only (``dashboard.build``); the "Check revisions now"
button queues the fleet check on a worker instead of reading targets here.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse

from portal.ops import services

from . import dashboard
from . import fleet as fleet_states

INTERVALS = (5, 10, 30, 60, 300)
DEFAULT_INTERVAL = 30


def _context(site, request) -> dict:
    allowed = request.user.has_perm("ops.view_target")
    fleet = dashboard.build(request.user, request.GET) if allowed else None
    return {
        **site.each_context(request), "title": "Fleet", "fleet": fleet, "allowed": allowed,
        "intervals": INTERVALS, "interval": DEFAULT_INTERVAL,
        "can_check": request.user.has_perm("ops.schedule_run"),
        "query": request.GET.urlencode(), "state_choices": list(fleet_states.STATE_LABELS.items()),
    }


def index(site, request):
    return TemplateResponse(request, "admin/home/dashboard.html", _context(site, request))


def dashboard_live(site, request):
    ctx = _context(site, request)
    html = render_to_string("admin/home/_fleet.html", ctx, request=request)
    return JsonResponse({"ok": True, "html": html})


def check_now(site, request):
    """POST: queue the fleet check (reads every target's version table on a worker)."""
    services.require(request.user, "ops.schedule_run")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    from .tasks import check_fleet

    try:
        check_fleet.delay()
    except Exception as exc:  # noqa: BLE001 - the broker is down: say so, the page stays
        messages.error(request, f"Could not queue the revision check: the broker did not take it ({type(exc).__name__}).")
    else:
        messages.success(request, "Revision check queued: every target's version table is read on a worker; "
                                  "the page refreshes itself.")
    return redirect(reverse("admin:index"))


def target_sessions(site, request, pk: int):
    """The Locks page's session list and locks by relation, as a fragment it loads and refreshes (JSON)."""

    from migrations_ops.errors import OpsError
    from portal.ops.models import Target
    from portal.ops.secrets import redact

    from . import sessions

    services.require(request.user, "ops.view_target")
    target = get_object_or_404(Target, pk=pk)
    ctx: dict = {"target": target}
    try:
        view = sessions.overview(target, user=request.user)
    except OpsError as exc:
        ctx["error"] = redact(str(exc))
    else:
        waiting = view.waiting_pids
        ctx.update(view=view, rows=[
            {"s": s, "waiting": s.pid in waiting or s.wait_event_type == "Lock"} for s in view.sessions])
    html = render_to_string("admin/home/_sessions_locks.html", ctx, request=request)
    return JsonResponse({"ok": "error" not in ctx, "html": html,
                         "sessions": len(ctx["view"].sessions) if "view" in ctx else None})


def audit_export(site, request, fmt: str):
    """The audit list as filtered on the page (filters, search, dates), streamed as CSV or JSON; audited."""
    from django.contrib.admin.options import IncorrectLookupParameters
    from django.http import Http404, StreamingHttpResponse
    from django.utils.timezone import now

    from portal.ops import audit
    from portal.ops.models import AuditEvent

    from . import audit_filters

    services.require(request.user, "ops.export_audit")
    if fmt not in ("csv", "json"):
        raise Http404(f"No export format {fmt[:20]!r}: csv or json")
    model_admin = site._registry[AuditEvent]
    try:
        changelist = model_admin.get_changelist_instance(request)
    except IncorrectLookupParameters:
        messages.error(request, "These filters do not apply to the audit list; nothing was exported.")
        return redirect(reverse("admin:ops_auditevent_changelist"))
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    queryset = changelist.queryset.filter(id__lte=last)  # not the export's own event, recorded below
    count = queryset.count()
    audit.record(actor=request.user.get_username(), actor_kind=AuditEvent.ActorKind.USER, action="audit.exported",
                 params={"format": fmt, "events": count, "filters": {k: v for k, v in request.GET.items()}},
                 outcome="succeeded")
    stream = audit_filters.stream_csv(queryset) if fmt == "csv" else audit_filters.stream_json(queryset)
    content_type = "text/csv" if fmt == "csv" else "application/json"
    response = StreamingHttpResponse(stream, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{now():%Y%m%d-%H%M%S}.{fmt}"'
    response["X-Audit-Events"] = str(count)
    return response
