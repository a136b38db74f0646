"""A plan whose SQL preview could not be rendered is scheduled only when someone says they saw it.

The DBA confirms a plan by its SQL; when rendering stopped (a revision that
needs a live connection, an import that fails offline, a missing attribute),
part of what will run was never shown, and the error may predict the run's
own failure. Scheduling then needs an explicit acknowledgement, and on a
production target it is refused unless ``MOP_PRODUCTION_ALLOWS_INCOMPLETE_PREVIEW``
is set (a policy may forbid it).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError


def preview_stopped_text(plan) -> str:
    """One line naming why and where the preview stopped."""
    where = f" at revision {plan.sql_error_revision}" if getattr(plan, "sql_error_revision", None) else ""
    return f"The SQL preview stopped{where}: {plan.sql_error}"


def check_preview_failure(target, plan, acknowledged: bool) -> None:
    """Refuse to schedule an incompletely previewed plan without an acknowledgement (or on production)."""
    if not plan.sql_error:
        return
    if target.is_production and not getattr(settings, "MOP_PRODUCTION_ALLOWS_INCOMPLETE_PREVIEW", False):
        raise ValidationError(
            f"{preview_stopped_text(plan)}. Production targets only run fully previewed plans: fix the revision "
            "so its SQL renders offline (or rehearse it on a copy); nothing was scheduled.",
            code="preview_incomplete_production",
        )
    if not acknowledged:
        raise ValidationError(
            f"{preview_stopped_text(plan)}. Part of the plan's SQL was never shown; acknowledge that explicitly "
            "to schedule it (admin: tick the box; CLI: --acknowledge-preview-failure). Nothing was scheduled.",
            code="preview_incomplete",
        )
