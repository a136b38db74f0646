"""Cells the dashboard shows for features other apps own: drift state and approvals.

Each is one small function returning plain data; until an app fills it, the
dashboard shows "—" (drift) or nothing waiting (approvals). The drift and
change-control apps replace the bodies; the dashboard does not change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cell:
    """One dashboard cell: the words, a level for its colour (ok, warn, bad, info) and where it links."""

    label: str
    level: str = "info"
    url: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True)
class Waiting:
    """Something that waits for this user: an approval to give, a failed run to look at."""

    kind: str
    title: str
    url: str
    target_id: int | None = None
    since: object = None


_DRIFT_LEVEL = {"clean": "ok", "drift": "bad", "error": "warn", "unknown": "info"}


def drift_cells(target_ids: list[int]) -> dict[int, Cell]:
    """Drift state per target id (clean, drift since, check failed, not checked), from stored checks; one query."""
    from django.urls import reverse

    from portal.assure.models import TargetAssurance

    cells = {}
    for row in TargetAssurance.objects.filter(target_id__in=target_ids).only(
            "target_id", "drift_state", "drift_since", "last_check_id"):
        label = row.get_drift_state_display()
        title = f"drift since {row.drift_since:%Y-%m-%d %H:%M}" if row.drift_since else ""
        url = reverse("admin:assure_driftcheck_change", args=[row.last_check_id]) if row.last_check_id else ""
        cells[row.target_id] = Cell(label=label, level=_DRIFT_LEVEL.get(row.drift_state, "info"), url=url, title=title)
    return cells


def approvals_waiting(user, target_ids: list[int]) -> list[Waiting]:
    """Runs awaiting an approval this user may give (not their own, not already given), newest first; one query."""
    from django.urls import reverse

    from portal.change.models import ChangeRequest
    from portal.ops.models import Run

    if user is None or not user.has_perm("change.approve_changerequest"):
        return []
    reqs = (ChangeRequest.objects.filter(run__status=Run.Status.AWAITING_APPROVAL, run__target_id__in=target_ids)
            .exclude(run__requested_by_id=user.pk).exclude(approvals__user_id=user.pk)
            .select_related("run", "run__target").order_by("-created_at")[:50])
    url = reverse("admin:change_changerequest_approvals")
    return [Waiting(kind="approval", title=f"Approve run #{r.run_id}: {r.run.operation} {r.run.revision} "
                    f"on {r.run.target.name} ({r.risk_level} risk)", url=url, target_id=r.run.target_id,
                    since=r.created_at) for r in reqs]


def health_waiting(user, target_ids: list[int]) -> list[Waiting]:
    """Open health events of these targets (a threshold crossed and not yet back under), newest first; one query."""
    from django.urls import reverse

    from portal.health.models import HealthEvent

    if user is None or not user.has_perm("health.view_healthevent"):
        return []
    events = (HealthEvent.objects.filter(closed_at__isnull=True, target_id__in=target_ids)
              .select_related("target", "threshold").order_by("-opened_at")[:50])
    return [Waiting(kind="health", title=f"Health of {e.target.name}: {e.threshold.get_metric_display().lower()} "
                    f"{e.value:g} above {e.threshold.above:g} for {e.threshold.for_minutes} min",
                    url=reverse("admin:health_target", args=[e.target_id]), target_id=e.target_id,
                    since=e.opened_at) for e in events]
