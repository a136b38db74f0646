"""What the environment's change-control policy asks of a run before its first step: a rehearsal, a backup,
no open drift. The policy (``portal.change.models.Policy``) holds the requirement; this module reads it."""

from __future__ import annotations

from portal.change.models import BackupScope, Policy
from portal.ops.models import Target


def policy_of(target: Target) -> Policy:
    """The policy of the target's environment (an unsaved default when none is stored; reads the DB)."""
    return Policy.of(target.environment)


def summary(policy: Policy) -> str:
    """One line for lists.

    >>> summary(Policy(environment="production", rehearsal_required=True, rehearsal_max_age_hours=12,
    ...                backup_scope="touched", allow_open_drift=False))
    'rehearsal (12 h), backup: tables the plan touches, no open drift'
    >>> summary(Policy(environment="development", allow_open_drift=True))
    'nothing'
    """
    parts = []
    if policy.rehearsal_required:
        parts.append(f"rehearsal ({policy.rehearsal_max_age_hours} h)")
    if policy.backup_scope != BackupScope.NONE:
        parts.append(f"backup: {policy.get_backup_scope_display().lower()}")
    if not policy.allow_open_drift:
        parts.append("no open drift")
    return ", ".join(parts) or "nothing"
