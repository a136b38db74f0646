"""The Locks page's full session list and locks by relation, read live (connects to one target).

Needs ``ops.view_target`` as the rest of the Locks page; query texts are
redacted of the target's password before they reach a page.
"""

from __future__ import annotations

import dataclasses

from migrations_ops.locks.overview import Overview, read_overview
from portal.ops import services
from portal.ops.models import Target
from portal.ops.secrets import redact


def overview(target: Target, *, user) -> Overview:
    """Every session and the locks by relation of ``target`` now (connects to the target)."""
    services.require(user, "ops.view_target")
    conn = target.conn()
    view = read_overview(conn)
    sessions = tuple(dataclasses.replace(s, query=redact(s.query, conn.password)) for s in view.sessions)
    return dataclasses.replace(view, sessions=sessions)
