"""The audit chain's check page."""

from __future__ import annotations

from django.template.response import TemplateResponse

from .. import audit, services
from .page import context


def verify_chain(model_admin, request):
    """GET shows the check's button, POST runs it; both need ops.verify_audit_chain."""
    services.require(request.user, "ops.verify_audit_chain")
    report = audit.verify_chain() if request.method == "POST" else None
    ctx = context(model_admin, request, "Verify the audit chain", report=report)
    return TemplateResponse(request, "admin/ops/auditevent/verify_chain.html", ctx)
