"""Who acts and what they may do: the one permission check every page, command and service makes."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


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
