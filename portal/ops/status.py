"""A target's revision status as viewers see it: the status page and ``ops status``.

Kept apart from ``services`` (plans, runs, Alembic): reading a status is the
most frequent thing a DBA does, and with the listing cache it needs neither
Alembic nor the run machinery.
"""

from __future__ import annotations

import dataclasses

from django.conf import settings

from migrations_ops.schema import state

from . import signals
from .models import Target
from .secrets import redact


def target_status(target: Target) -> state.TargetStatus:
    """The target's live revision(s), pending steps and problems (connects to the target).

    Read-only: revision files are read statically, never imported. Problem
    texts are redacted (a viewer may open this page).
    """
    conn = target.conn()
    status = state.target_status(conn, target.project.resolved(), cache_dir=settings.MOP_LISTING_CACHE)
    problems = tuple(dataclasses.replace(p, message=redact(p.message, conn.password)) for p in status.problems)
    status = dataclasses.replace(status, problems=problems)
    signals.status_read.send(sender=Target, target=target, status=status)
    return status
