"""Lock and activity diagnostics of a target: look, and act safely.

One call per need, each returning a frozen, JSON-ready result:

- ``activity_summary(target)``, ``long_transactions(target)``,
  ``idle_in_transaction(target)``, ``xmin_holders(target)``;
- ``blocking_tree(target)``, ``blockers_of_application(target, "mop:run:42")``;
- ``take_snapshot(target)`` -> ``Snapshot`` (``to_json()`` / ``Snapshot.from_json()``);
- ``backend_row(target, pid)`` -> ``BackendRow`` (what a cancel or terminate would judge) or None;
- ``cancel_backend(...)`` / ``terminate_backend(...)`` -> ``ActionResult``;
- ``duration_class(seconds)`` and ``render_tree_svg(tree)`` for the pages.
"""

from .actions import BackendRow, backend_row, cancel_backend, terminate_backend
from .activity import activity_summary, idle_in_transaction, long_transactions, xmin_holders
from .blocking import blockers_of_application, blocking_tree, build_tree
from .connection import DEFAULT_STATEMENT_TIMEOUT_MS, DIAG_APPLICATION
from .models import (
    ActionResult,
    ActivitySummary,
    BlockingNode,
    BlockingTree,
    Session,
    Snapshot,
    is_portal_application,
    run_id_of,
)
from .render import duration_class, render_tree_svg
from .snapshot import take_snapshot

__all__ = [
    "DEFAULT_STATEMENT_TIMEOUT_MS",
    "DIAG_APPLICATION",
    "ActionResult",
    "ActivitySummary",
    "BackendRow",
    "BlockingNode",
    "BlockingTree",
    "Session",
    "Snapshot",
    "activity_summary",
    "backend_row",
    "blockers_of_application",
    "blocking_tree",
    "build_tree",
    "cancel_backend",
    "duration_class",
    "idle_in_transaction",
    "is_portal_application",
    "long_transactions",
    "render_tree_svg",
    "run_id_of",
    "take_snapshot",
    "terminate_backend",
    "xmin_holders",
]
