"""The change-control gate the ops run lifecycle calls (registered in ``apps.ready``).

Right before a worker claims a run it checks that the run's window is still
open and that its approvals still hold: the SQL hash, the target's live
heads and the project fingerprint must be those that were approved. If any
differs the run does not start, says which changed, and its approvals stop
counting.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.timezone import now

from migrations_ops.errors import OpsError
from portal.ops.models import Run

from . import notify, windows
from .models import ChangeRequest

log = logging.getLogger(__name__)
# The rules this gate applies (services, risk) and the run lifecycle are imported where they are used: the
# gate is registered at start-up, and a CLI command that never plans a run should not load the engine.


def bindings_changed(req: ChangeRequest) -> list[str]:
    """What differs from what was approved: scripts, live heads, SQL (connects to the target; [] if nothing)."""
    from portal.ops import lifecycle  # noqa: PLC0415
    from portal.ops import services as ops_services  # noqa: PLC0415
    run, target = req.run, req.run.target
    changed = []
    resolved = ops_services.resolve(target.project)
    if resolved.fingerprint != req.project_fingerprint:
        changed.append(f"the scripts changed (approved {req.project_fingerprint}, found {resolved.fingerprint})")
    heads = lifecycle.current_heads(target)
    if heads is None:
        changed.append("the target's heads could not be read")
    elif sorted(heads) != sorted(req.from_heads):
        changed.append(f"the target's heads moved (approved at {', '.join(req.from_heads) or 'base'}, "
                       f"now at {', '.join(heads) or 'base'})")
    if not changed:
        plan = ops_services._make_plan(target, resolved, run.operation, run.revision)
        if plan.sql_hash != req.sql_hash:
            changed.append(f"the SQL changed (approved sha256 {req.sql_hash[:12]}, now {plan.sql_hash[:12]})")
    return changed


def invalidate(req: ChangeRequest, reasons: list[str]) -> bool:
    """Approvals stop counting and the run fails before it starts, naming what changed (writes the DB)."""
    from . import services  # noqa: PLC0415
    run, at = req.run, now()
    text = "; ".join(reasons)
    req.approvals.filter(invalidated_at__isnull=True).update(invalidated_at=at, invalidated_reason=text[:2000])
    done = Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED, started_at__isnull=True).update(
        status=Run.Status.FAILED, finished_at=at, error_code="approval_invalidated",
        error=f"Not started: {text}. The approvals no longer hold; request the run again and have it approved again.",
        error_explanation="Approvals are bound to the SQL, the target's heads and the scripts that were reviewed.")
    if done:
        run.refresh_from_db()
        services._audit(run, "change.invalidated", outcome=Run.Status.FAILED, error=run.error,
                        params={"changed": reasons})
        notify.event(run, "invalidated")
    return bool(done)


class ChangeGate:
    """Implements ``portal.ops.gates.RunGate``."""

    def confirm_context(self, target, plan) -> dict[str, Any]:
        from . import risk, services  # noqa: PLC0415
        findings = plan.findings_json() if hasattr(plan, "findings_json") else []
        level_risk, groups = risk.assess(target, plan.sql or "", findings)
        policy = services.policy_for(target.environment)
        found = windows.next_for(services.windows_for(target), now())
        return {"change_risk": level_risk, "change_groups": groups, "change_policy": policy,
                "change_approvals": services.approvals_needed(policy, level_risk["level"]),
                "change_next_window": found}

    def on_scheduled(self, run, plan, start) -> bool:
        from . import risk, services  # noqa: PLC0415
        if run.operation not in Run.SCHEMA_OPERATIONS:
            return False
        level_risk, groups = risk.assess(run.target, run.sql, run.safety_findings)
        return services.open_request(run, level_risk, groups, start)

    def before_claim(self, run_id: int) -> str | None:
        from . import services  # noqa: PLC0415
        req = ChangeRequest.objects.select_related("run", "run__target", "run__target__project").filter(
            run_id=run_id).first()
        if req is None or req.run.status != Run.Status.QUEUED or req.run.started_at is not None:
            return None
        if req.window_end and now() >= req.window_end:
            services.mark_missed(req.run, req)
            return Run.Status.MISSED
        if not req.approvals_required:
            return None
        valid = services.valid_approvals(req).count()
        reasons = [] if valid >= req.approvals_required else [
            f"only {valid} of {req.approvals_required} approvals are still valid (expired)"]
        try:
            reasons = reasons or bindings_changed(req)
        except OpsError as exc:
            reasons = [f"what was approved could not be checked: {exc}"]
        if reasons and invalidate(req, reasons):
            return "approval_invalidated"
        return None

    def window_closed(self, run) -> bool:
        end = getattr(run, "_change_window_end", False)
        if end is False:
            end = ChangeRequest.objects.filter(run_id=run.pk).values_list("window_end", flat=True).first()
            run._change_window_end = end
        return bool(end and now() >= end)

    def outcome(self, run, status: str, fields: dict) -> tuple[str, dict]:
        from portal.ops import lifecycle  # noqa: PLC0415
        if fields.get("error_code") != "cancelled" or not self.window_closed(run):
            return status, fields
        if Run.objects.filter(pk=run.pk, cancel_requested_at__isnull=False).exists():
            return status, fields  # a person cancelled it
        run.refresh_from_db(fields=["steps_done", "steps_total", "step_timings"])
        heads = lifecycle.current_heads(run.target)
        at = ", ".join(heads) if heads else "base" if heads is not None else "an unread revision"
        return status, {**fields, "error_code": "window_closed",
                        "error": f"Window closed after step {run.steps_done} of {run.steps_total}; target at {at}",
                        "error_explanation": "The run stops between steps when its maintenance window closes; every "
                                             "committed step stays. Schedule the rest for the next window."}

    def notify(self, run, event: str) -> None:
        notify.event(run, event)
