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


def drift_cells(target_ids: list[int]) -> dict[int, Cell]:
    """Drift state per target id (open drift, accepted, clean), read from stored checks; one query at most.

    No drift check exists yet: every target shows "—".
    """
    return {}


def approvals_waiting(user, target_ids: list[int]) -> list[Waiting]:
    """Approvals this user may give, newest first; one query at most. None exist yet."""
    return []
