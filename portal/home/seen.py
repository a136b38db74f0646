"""A failed run stops waiting for a person once they open its page, by whatever route.

The dashboard's "waiting for you" list holds failed and interrupted runs a
person has not looked at. Opening the run's page (from the dashboard, the
Runs list, the audit trail, a link in a chat) is looking at it; the page's
live JSON polling and the command line (``ops runs``, ``ops status``) are not.
A run opened while it was still going is not marked: its failure came later.
"""

from __future__ import annotations

import functools

from portal.ops.models import Run

from .models import RunSeen

FAILED_STATUSES = (Run.Status.FAILED, Run.Status.INTERRUPTED)


def mark_opened(user, run_id: int) -> bool:
    """Record that ``user`` looked at run ``run_id`` if it has failed (two queries); True when recorded now."""
    if not getattr(user, "is_authenticated", False):
        return False
    if not Run.objects.filter(pk=run_id, status__in=FAILED_STATUSES).exists():
        return False
    _seen, created = RunSeen.objects.get_or_create(run_id=run_id, user=user)
    return created


def marks_run_opened(change_view):
    """Wrap a run admin's ``change_view``: a page served (GET, 200) to its user marks the run looked at."""

    @functools.wraps(change_view)
    def view(model_admin, request, object_id, *args, **kwargs):
        response = change_view(model_admin, request, object_id, *args, **kwargs)
        if request.method == "GET" and response.status_code == 200 and str(object_id).isdigit():
            mark_opened(request.user, int(object_id))
        return response

    return view
