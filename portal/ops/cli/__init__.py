"""What each ``manage.py ops`` subcommand does, one module per subject.

``COMMANDS`` maps a subcommand to the module holding its ``cmd_<name>(command, options)``;
the module is imported only when its subcommand runs, so ``ops targets`` does not load the
copy engine. Each handler prints to ``command.stdout`` and raises ``ValidationError`` /
``PermissionDenied`` / ``OpsError`` for the command to turn into a one-line message and exit
code 2. JSON shapes: docs/cli.md.

A new subcommand: its parser in ``management/commands/ops.py``, its ``cmd_<name>`` in a module
here (or in its app), and one line in ``COMMANDS``.

>>> sorted(COMMANDS)[:3]
['activity', 'add-target', 'approvals']
>>> handler("targets").__name__
'cmd_targets'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

COMMANDS: dict[str, str] = {
    "targets": "portal.ops.cli.targets",
    "add-target": "portal.ops.cli.targets",
    "revisions": "portal.ops.cli.readonly",
    "status": "portal.ops.cli.readonly",
    "runs": "portal.ops.cli.schema",
    "upgrade": "portal.ops.cli.schema",
    "downgrade": "portal.ops.cli.schema",
    "stamp": "portal.ops.cli.schema",
    "cancel": "portal.ops.cli.schema",
    "reap": "portal.ops.cli.schema",
    "audit": "portal.ops.cli.audit",
    "verify-audit": "portal.ops.cli.audit",
    "audit-head": "portal.ops.cli.audit",
    "locks": "portal.ops.cli.locks",
    "activity": "portal.ops.cli.locks",
    "copy": "portal.ops.cli.copy",
    "copy-abandon": "portal.ops.cli.copy",
    "verify": "portal.ops.cli.copy",
    "rejects": "portal.ops.cli.rejects",
    "bootstrap-example": "portal.ops.cli.bootstrap",
    "fleet": "portal.home.cli_fleet",
    "approvals": "portal.change.cli",
    "approve": "portal.change.cli",
    "reject": "portal.change.cli",
    "drift": "portal.assure.cli",
    "rehearse": "portal.assure.cli",
    "backups": "portal.assure.cli",
    "recovery": "portal.assure.cli",
    "health": "portal.health.cli",
    "search-parity": "portal.health.cli",
}


def handler(subcommand: str) -> Callable:
    """The ``cmd_<name>`` function of ``subcommand``, its module imported on first use."""
    module = importlib.import_module(COMMANDS[subcommand])
    return getattr(module, "cmd_" + subcommand.replace("-", "_"))
