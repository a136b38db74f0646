"""``manage.py ops approvals | approve | reject``: the Approvals page from the command line."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError

from portal.ops.models import Run

from . import services
from .models import Approval
from .views import waiting_requests


def acting_user(options: dict, what: str):
    from portal.ops.cli.common import acting_user as ops_user

    return ops_user(options, required=True, what=what)


def cmd_approvals(command, options) -> None:
    user = acting_user(options, "approvals") if options.get("user") else None
    if user is not None:
        from portal.ops.services import require

        require(user, "change.view_changerequest")
    rows = [{
        "run": r.run_id, "target": r.run.target.name, "environment": r.run.target.environment,
        "operation": r.run.operation, "revision": r.run.revision, "requested_by": r.run.actor,
        "risk": r.risk_level, "reasons": [x["text"] for x in r.risk.get("reasons", [])[:5]],
        "approvals": len(r.valid), "required": r.approvals_required, "sql_hash": r.sql_hash,
        "start_at": r.start_at.isoformat() if r.start_at else None,
    } for r in waiting_requests(user)]
    if options.get("json"):
        command.stdout.write(json.dumps(rows, indent=2))
        return
    if not rows:
        command.stdout.write("Nothing waits for approval.")
    for r in rows:
        command.stdout.write(f"#{r['run']} {r['operation']} {r['revision']} on {r['target']} ({r['environment']}) "
                             f"by {r['requested_by']}: risk {r['risk']}, {r['approvals']} of {r['required']} approvals")
        for reason in r["reasons"]:
            command.stdout.write(f"    {reason}")


def _decide(command, options, decision: str) -> None:
    user = acting_user(options, "approve" if decision == Approval.Decision.APPROVED else "reject")
    run = Run.objects.filter(pk=options["run_id"]).first()
    if run is None:
        raise ValidationError(f"No run #{options['run_id']}")
    services.decide(run, user, decision, options.get("comment") or "")
    run.refresh_from_db()
    command.stdout.write(f"Run #{run.pk} {decision} by {user.get_username()}; it is now {run.status}")


def cmd_approve(command, options) -> None:
    _decide(command, options, Approval.Decision.APPROVED)


def cmd_reject(command, options) -> None:
    _decide(command, options, Approval.Decision.REJECTED)
