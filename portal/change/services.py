"""Change control rules: what a run needs (policy x risk), approvals bound to what was reviewed, release
to the queue, scheduled starts and missed windows.

Views, the admin, the CLI, the gate and the tasks call these; none holds a rule of its own.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware, now

from portal.ops import audit
from portal.ops import services as ops_services
from portal.ops.models import AuditEvent, Run, Target

from . import notify, windows
from .models import Approval, ChangeRequest, MaintenanceWindow, Policy

log = logging.getLogger(__name__)

LEVELS = ("low", "moderate", "high", "critical")


def policy_for(environment: str) -> Policy:
    """The environment's policy, or an unsaved one needing nothing (reads the DB)."""
    return Policy.of(environment)


def approvals_needed(policy: Policy, level: str) -> int:
    """How many approvals a run of risk ``level`` needs under ``policy`` (0: none).

    >>> approvals_needed(Policy(approval_from="low", approvals_required=1, approvals_required_high=2), "high")
    2
    >>> approvals_needed(Policy(approval_from="high", approvals_required=1), "moderate")
    0
    """
    if policy.approval_from == Policy.ApprovalFrom.NEVER or LEVELS.index(level) < LEVELS.index(policy.approval_from):
        return 0
    if level in ("high", "critical"):
        return max(policy.approvals_required, policy.approvals_required_high)
    return policy.approvals_required


def windows_for(target: Target):
    """Active windows of the target and of its environment (reads the DB)."""
    return list(MaintenanceWindow.objects.filter(
        Q(target=target) | Q(target__isnull=True, environment=target.environment), is_active=True))


def _policy_json(p: Policy) -> dict:
    return {f: getattr(p, f) for f in ("environment", "approval_from", "approvals_required", "approvals_required_high",
                                       "approver_group", "requester_may_approve", "approval_valid_minutes",
                                       "allow_outside_window", "rehearsal_required", "rehearsal_max_age_hours",
                                       "backup_scope", "allow_open_drift")}


def _start_time(value) -> datetime:
    at = value if isinstance(value, datetime) else parse_datetime(str(value or "").strip())
    if at is None:
        raise ValidationError(f"Start time {value!r} is not a date and time (YYYY-MM-DD HH:MM)")
    return make_aware(at) if is_naive(at) else at


def _audit(run: Run, action: str, *, actor: str = "system", kind: str = AuditEvent.ActorKind.SYSTEM,
           outcome: str = "", error: str = "", params: dict | None = None) -> None:
    audit.record(actor=actor, actor_kind=kind, action=action, target=run.target, run=run, operation=run.operation,
                 from_revision=run.from_heads, to_revision=run.to_heads, sql_hash=run.sql_hash, outcome=outcome,
                 error=error, params=params or {})


def open_request(run: Run, risk: dict, groups: list, start: dict | None) -> bool:
    """Record the change request of a freshly scheduled run; True when the run is held (writes the DB).

    Steps: 1 the policy of the target's environment and the risk decide the
    approvals needed, 2 the start (now / at a time / next window) and the
    window it is bound to, refused outside windows when the policy says so,
    3 the run waits in awaiting_approval or scheduled, else it is queued now,
    4 audit and notify.
    """
    target, at = run.target, now()
    policy = policy_for(target.environment)
    needed = approvals_needed(policy, risk["level"])
    mode = (start or {}).get("mode") or ChangeRequest.StartMode.NOW
    start_at = window = window_end = None
    if mode == ChangeRequest.StartMode.AT:
        start_at = _start_time((start or {}).get("at"))
        if start_at <= at:
            raise ValidationError(f"Start time {start_at:%Y-%m-%d %H:%M %Z} is in the past")
    elif mode == ChangeRequest.StartMode.WINDOW:
        found = windows.next_for(windows_for(target), at)
        if found is None:
            raise ValidationError(f"No maintenance window is defined for {target.name}; add one in the admin or "
                                  "start now / at a time")
        window, start_at, window_end = found
    elif mode != ChangeRequest.StartMode.NOW:
        raise ValidationError(f"Start {mode!r} is not one of now, at, window")
    if window is None and not policy.allow_outside_window:
        current = windows.next_for(windows_for(target), at)
        if current is None or current[1] > (start_at or at):
            raise ValidationError(f"The {target.get_environment_display().lower()} policy forbids runs outside a "
                                  "maintenance window: choose 'at the next window'")
        window, _opened, window_end = current
    req = ChangeRequest.objects.create(
        run=run, risk_level=risk["level"], risk=risk, finding_groups=groups, policy=_policy_json(policy),
        approvals_required=needed, start_mode=mode, start_at=start_at, window=window, window_end=window_end,
        sql_hash=run.sql_hash, from_heads=run.from_heads, project_fingerprint=run.project_fingerprint,
    )
    held = Run.Status.AWAITING_APPROVAL if needed else (Run.Status.SCHEDULED if start_at and start_at > at else None)
    if held is None:  # queued at once: the risk stays on the change request, run.scheduled is its audit
        req.released_at = at
        req.save(update_fields=["released_at"])
        return False
    _audit(run, "change.requested", actor=run.actor, kind=AuditEvent.ActorKind.USER,
           outcome=held or Run.Status.QUEUED,
           params={"risk": risk["level"], "approvals_required": needed, "start": mode,
                   "start_at": start_at.isoformat() if start_at else None,
                   "window_end": window_end.isoformat() if window_end else None,
                   "reasons": [r["text"] for r in risk["reasons"][:5]]})
    Run.objects.filter(pk=run.pk).update(status=held)
    run.status = held
    notify.event(run, held)
    return True


def valid_approvals(req: ChangeRequest, at: datetime | None = None):
    """Approvals that still count: approved, not invalidated, not expired (reads the DB)."""
    return req.approvals.filter(decision=Approval.Decision.APPROVED, invalidated_at__isnull=True,
                                expires_at__gt=at or now())


def _check_decider(req: ChangeRequest, user, comment: str) -> None:
    ops_services.require(user, "change.approve_changerequest")
    group = req.policy.get("approver_group") or "approver"
    if not user.is_superuser and not user.groups.filter(name=group).exists():
        raise PermissionDenied(f"User {user.get_username()!r} is not in the approver group {group!r}")
    if not (comment or "").strip():
        raise ValidationError("A comment is required: say what you checked")
    run = req.run
    if run.status != Run.Status.AWAITING_APPROVAL:
        raise ValidationError(f"Run #{run.pk} is {run.get_status_display().lower()}, not awaiting approval; "
                              "nothing was recorded")
    if run.requested_by_id == user.pk and not req.policy.get("requester_may_approve"):
        raise ValidationError(f"You requested run #{run.pk}: another approver must review it (four eyes)")
    if req.approvals.filter(user=user, invalidated_at__isnull=True).exists():
        raise ValidationError(f"You already decided on run #{run.pk}; nothing was recorded")


def decide(run: Run, user, decision: str, comment: str) -> Approval:
    """Approve or reject a run awaiting approval, bound to the SQL, heads and scripts reviewed (writes the DB).

    The last approval needed releases the run (queued now, or scheduled);
    a rejection ends it as rejected. Refusals raise with a clear message.
    """
    with transaction.atomic():
        locked = Run.objects.select_for_update().select_related("target").get(pk=run.pk)
        req = ChangeRequest.objects.filter(run=locked).first()
        if req is None:
            raise ValidationError(f"Run #{run.pk} is not under change control; there is nothing to approve")
        req.run = locked
        _check_decider(req, user, comment)
        at = now()
        approval = Approval.objects.create(
            request=req, user=user, decision=decision, comment=comment.strip(), created_at=at,
            expires_at=at + timedelta(minutes=int(req.policy.get("approval_valid_minutes") or 1440)),
            sql_hash=req.sql_hash, from_heads=req.from_heads, project_fingerprint=req.project_fingerprint,
        )
        count = valid_approvals(req, at).count()
        _audit(locked, f"change.{decision}", actor=user.get_username(), kind=AuditEvent.ActorKind.USER,
               outcome=decision, params={"comment": comment.strip()[:500], "approvals": count,
                                         "required": req.approvals_required, "sql_hash": req.sql_hash})
        if decision == Approval.Decision.REJECTED:
            Run.objects.filter(pk=locked.pk, status=Run.Status.AWAITING_APPROVAL).update(
                status=Run.Status.REJECTED, finished_at=at, error_code="rejected",
                error=f"Rejected by {user.get_username()}: {comment.strip()[:500]}")
            notify.event(locked, "rejected")
        else:
            notify.event(locked, "approved")
            if count >= req.approvals_required:
                release(req)
    return approval


def release(req: ChangeRequest) -> str:
    """Hand an approved run on: queued now, or scheduled for its start time (writes the DB, in a transaction)."""
    run, at = req.run, now()
    if req.start_at and req.start_at > at:
        Run.objects.filter(pk=run.pk, status=Run.Status.AWAITING_APPROVAL).update(status=Run.Status.SCHEDULED)
        _audit(run, "change.scheduled", outcome=Run.Status.SCHEDULED, params={"start_at": req.start_at.isoformat()})
        notify.event(run, "scheduled")
        return Run.Status.SCHEDULED
    if Run.objects.filter(pk=run.pk, status__in=Run.WAITING).update(status=Run.Status.QUEUED):
        ChangeRequest.objects.filter(pk=req.pk).update(released_at=at)
        _audit(run, "change.released", outcome=Run.Status.QUEUED)
        ops_services.enqueue_on_commit(run)
    return Run.Status.QUEUED


def start_due_runs(at: datetime | None = None) -> dict[str, int]:
    """Beat's tick: queue scheduled runs whose time has come, mark missed the held runs whose window passed.

    Each transition is a conditional UPDATE, so two beats or workers start a run once.
    """
    at = at or now()
    counts = {"started": 0, "missed": 0, "expired": expire_approvals(at)}
    missed = ChangeRequest.objects.filter(window_end__lte=at, run__status__in=[*Run.WAITING, Run.Status.QUEUED],
                                          run__started_at__isnull=True).select_related("run", "run__target")
    for req in missed:
        if mark_missed(req.run, req):
            counts["missed"] += 1
    due = ChangeRequest.objects.filter(start_at__lte=at, run__status=Run.Status.SCHEDULED).select_related(
        "run", "run__target")
    for req in due:
        with transaction.atomic():
            if Run.objects.filter(pk=req.run_id, status=Run.Status.SCHEDULED).update(status=Run.Status.QUEUED):
                ChangeRequest.objects.filter(pk=req.pk).update(released_at=at)
                _audit(req.run, "change.released", outcome=Run.Status.QUEUED,
                       params={"start_at": req.start_at.isoformat(), "late_ms": int((at - req.start_at).total_seconds() * 1000)})
                ops_services.enqueue_on_commit(req.run)
                counts["started"] += 1
    return counts


def mark_missed(run: Run, req: ChangeRequest) -> bool:
    """A held run whose window closed before it started: missed, never started late (writes the DB)."""
    done = Run.objects.filter(pk=run.pk, status__in=[*Run.WAITING, Run.Status.QUEUED], started_at__isnull=True).update(
        status=Run.Status.MISSED, finished_at=now(), error_code="missed",
        error=f"The maintenance window closed at {req.window_end:%Y-%m-%d %H:%M %Z} before the run started; "
              "it was not started late. Schedule it again.")
    if done:
        run.refresh_from_db()
        _audit(run, "change.missed", outcome=Run.Status.MISSED, error=run.error)
        notify.event(run, "missed")
    return bool(done)


def expire_approvals(at: datetime) -> int:
    """Approvals of runs still awaiting approval that passed their validity: stop counting, audited (writes the DB)."""
    expired = Approval.objects.filter(decision=Approval.Decision.APPROVED, invalidated_at__isnull=True,
                                      expires_at__lte=at, request__run__status=Run.Status.AWAITING_APPROVAL
                                      ).select_related("request__run__target", "user")
    count = 0
    for approval in expired:
        if Approval.objects.filter(pk=approval.pk, invalidated_at__isnull=True).update(
                invalidated_at=at, invalidated_reason=f"expired at {approval.expires_at:%Y-%m-%d %H:%M %Z}"):
            count += 1
            _audit(approval.request.run, "change.approval_expired", outcome="expired",
                   params={"approver": approval.user.get_username(), "expires_at": approval.expires_at.isoformat()})
    return count
