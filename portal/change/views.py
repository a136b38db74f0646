"""The Approvals page and the approve / reject action (admin pages, permissions checked on the request)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from portal.ops import services as ops_services
from portal.ops.models import Run

from . import services
from .models import Approval, ChangeRequest


def waiting_requests(user=None):
    """Runs awaiting approval across targets, oldest first, with their valid approvals (reads the DB)."""
    reqs = list(ChangeRequest.objects.filter(run__status=Run.Status.AWAITING_APPROVAL)
                .select_related("run", "run__target", "run__requested_by").order_by("created_at"))
    for req in reqs:
        req.valid = list(services.valid_approvals(req).select_related("user"))
        req.percent = round(100 * len(req.valid) / max(1, req.approvals_required))
        req.mine = user is not None and req.run.requested_by_id == user.pk
        req.decided = user is not None and any(a.user_id == user.pk for a in req.valid)
    return reqs


def approvals_page(model_admin, request):
    ops_services.require(request.user, "change.view_changerequest")
    ctx = {
        **model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "title": "Approvals",
        "requests": waiting_requests(request.user),
        "can_decide": request.user.has_perm("change.approve_changerequest"),
        "recent": ChangeRequest.objects.exclude(run__status=Run.Status.AWAITING_APPROVAL)
        .select_related("run", "run__target").order_by("-created_at")[:10],
    }
    return TemplateResponse(request, "admin/change/approvals.html", ctx)


def decide(model_admin, request, run_id: int):
    """POST only: approve or reject with a comment; 403 without the right, a message for every refusal."""
    ops_services.require(request.user, "change.approve_changerequest")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    run = get_object_or_404(Run, pk=run_id)
    decision = request.POST.get("decision")
    if decision not in (Approval.Decision.APPROVED, Approval.Decision.REJECTED):
        messages.error(request, "Choose approve or reject")
    else:
        try:
            services.decide(run, request.user, decision, request.POST.get("comment", ""))
        except PermissionDenied:
            raise
        except ValidationError as exc:
            for msg in exc.messages:
                messages.error(request, msg)
        else:
            run.refresh_from_db()
            req = ChangeRequest.objects.get(run=run)
            count = services.valid_approvals(req).count()
            messages.success(request, f"Run #{run.pk} {decision} ({count} of {req.approvals_required} approvals); "
                                      f"it is now {run.get_status_display().lower()}.")
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("admin:change_changerequest_approvals")
    return redirect(back)
