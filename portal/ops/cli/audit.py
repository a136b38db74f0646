"""The audit trail from the command line: list it, verify its chain, print its head to keep elsewhere."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from .. import audit
from ..models import AuditEvent
from .common import acting_user, check_view, clamp_limit, dump_json, event_json, iso


def cmd_audit(command, options) -> None:
    check_view(acting_user(options, required=False, what="audit"), "ops.view_auditevent")
    events = AuditEvent.objects.order_by("-id")
    if options.get("target"):
        events = events.filter(target_name=options["target"])
    events = list(events[: clamp_limit(options["limit"])])
    if options["json"]:
        return dump_json(command, {"events": [event_json(e) for e in events]})
    for e in events:
        revs = f" {e.from_revision or 'base'} -> {e.to_revision or 'base'}" if e.operation else ""
        outcome = f" [{e.outcome}]" if e.outcome else ""
        command.stdout.write(
            f"{e.created_at:%Y-%m-%d %H:%M:%S} {e.actor} {e.action} {e.target_name}{revs}{outcome}".rstrip()
        )


def cmd_verify_audit(command, options) -> None:
    check_view(acting_user(options, required=False, what="verify-audit"), "ops.verify_audit_chain")
    try:
        report = audit.verify_chain(expect_head=options.get("expect_head"))
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    if not report.ok:
        raise CommandError(f"Audit chain broken at event #{report.first_bad_id}: {report.reason}", returncode=1)
    command.stdout.write(f"OK: {report.reason}")


def cmd_audit_head(command, options) -> None:
    """The newest audit event as ID:HASH, to keep outside the portal (ticket, log system)."""
    check_view(acting_user(options, required=False, what="audit-head"), "ops.view_auditevent")
    head = audit.chain_head()
    if options.get("json"):
        return dump_json(command, {"id": head.id, "hash": head.hash, "created_at": iso(head.created_at),
                               "anchor": head.anchor} if head else {"id": None, "hash": None, "created_at": None,
                                                                    "anchor": None})
    if head is None:
        raise ValidationError("The audit trail is empty: nothing to anchor yet")
    command.stdout.write(head.anchor)
