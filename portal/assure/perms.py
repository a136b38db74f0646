"""Permission checks of this app (the same rule as portal.ops.services.require, without importing it)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


def require(user, perm: str) -> None:
    """Raise PermissionDenied unless ``user`` is active and holds ``perm``."""
    if user is None or not getattr(user, "is_active", False) or not user.has_perm(perm):
        name = getattr(user, "username", None) or "anonymous"
        raise PermissionDenied(f"User {name!r} lacks the permission {perm!r}")
