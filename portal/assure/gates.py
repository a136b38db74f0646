"""What a run must show before it may start: no open drift, a passing rehearsal of the same plan.

``check_schedule`` is called when a run is asked for, ``check_start`` again
when the worker takes it (drift may have opened meanwhile). What is required
is the change-control policy of the target's environment (``requirements``);
the drift state is the target's own (``TargetAssurance``).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils.timezone import now

from migrations_ops.errors import OpsError
from portal.ops.models import Run, Target

from . import requirements
from .models import DriftState, Rehearsal, TargetAssurance

GATED = (Run.Operation.UPGRADE, Run.Operation.DOWNGRADE)


class GateRefused(OpsError):
    code = "gate_refused"
    explanation = ("The change-control policy of the target's environment refuses this run before any step: "
                   "accept or fix the drift, or rehearse this exact plan, then schedule it again.")

    def __init__(self, reason: str) -> None:
        super().__init__(reason, reason=reason)


def refusal(target: Target, operation: str, sql_hash: str, fingerprint: str) -> str | None:
    """Why an upgrade or downgrade of this plan may not go ahead under the environment's policy, or None (reads the DB)."""
    if operation not in GATED:
        return None
    policy = requirements.policy_of(target)
    conf = TargetAssurance.objects.filter(target=target).first()
    where = f"the {target.get_environment_display().lower()} policy"
    if conf is not None and conf.drift_state == DriftState.DRIFT and not policy.allow_open_drift:
        since = f" since {conf.drift_since:%Y-%m-%d %H:%M} UTC" if conf.drift_since else ""
        return (f"Target {target.name} has open drift{since} (drift check #{conf.last_check_id}) and {where} "
                "does not allow open drift; a DBA must accept it as the new baseline (with a comment) or fix it first")
    if policy.rehearsal_required:
        cutoff = now() - timedelta(hours=policy.rehearsal_max_age_hours)
        ok = Rehearsal.objects.filter(target=target, sql_hash=sql_hash, project_fingerprint=fingerprint,
                                      status=Rehearsal.Status.PASSED, finished_at__gte=cutoff).exists()
        if not ok:
            return (f"Target {target.name} requires a passing rehearsal of this plan (SQL hash {sql_hash[:12]}, "
                    f"scripts {fingerprint[:20]}) younger than {policy.rehearsal_max_age_hours} h ({where}); "
                    "none found")
    return None


def check_schedule(target: Target, operation: str, plan, fingerprint: str) -> None:
    """Raise ``ValidationError`` when the run may not be scheduled."""
    reason = refusal(target, operation, plan.sql_hash or "", fingerprint)
    if reason:
        raise ValidationError(reason + "; nothing was scheduled", code="gate_refused")


def check_start(run: Run) -> None:
    """Raise ``GateRefused`` when the run may not start (it then fails before any step)."""
    reason = refusal(run.target, run.operation, run.sql_hash, run.project_fingerprint)
    if reason:
        raise GateRefused(reason)
