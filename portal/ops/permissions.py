"""Who acts and what they may do: the one permission check every page, command and service makes."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from .models import Run, Target


def require(user, perm: str) -> None:
    """Raise PermissionDenied unless ``user`` is active and holds ``perm`` (e.g. ``ops.schedule_run``)."""
    if user is None or not getattr(user, "is_active", False) or not user.has_perm(perm):
        name = getattr(user, "username", None) or "anonymous"
        raise PermissionDenied(f"User {name!r} lacks the permission {perm!r}")


def actor_name(user, actor: str | None) -> str:
    """The name a run or an audit event records: the given actor, else the user's name, else ``system``."""
    if actor:
        return actor
    if user is not None:
        return user.get_username()
    return "system"


def needs_confirmation(target: Target, operation: str) -> bool:
    """Downgrades and anything on a production target need the target's name typed back."""
    return operation == Run.Operation.DOWNGRADE or target.is_production


def check_confirmation(target: Target, operation: str, confirm_name: str | None) -> None:
    """Raise ValidationError unless the name typed back is the target's, where one is needed."""
    if not needs_confirmation(target, operation):
        return
    why = "a production target" if target.is_production else "a downgrade"
    if not confirm_name:
        raise ValidationError(
            f"This is {why}: type the target's name ({target.name}) to confirm", code="confirm_required"
        )
    if confirm_name.strip() != target.name:
        raise ValidationError(
            f"Confirmation {confirm_name.strip()!r} does not match the target's name ({target.name}); nothing was scheduled",
            code="confirm_mismatch",
        )
