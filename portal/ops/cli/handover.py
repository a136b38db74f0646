"""Handing a ``--wait`` over to ``waiter.py`` once the run is queued: the process keeps its id and output.

Only a real ``manage.py ops`` process hands over (``manage.py`` sets ``STANDALONE``): a command
called in-process (tests, ``call_command``) must come back to its caller, so it waits with
``common.wait``. So do ``--json`` (its document is built from the run's rows by Django) and a
database that is not PostgreSQL. ``MOP_WAIT_IN_PROCESS=1`` keeps the old way everywhere.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

STANDALONE = False
"""True in a ``manage.py ops`` process (set by manage.py), which may be replaced by the waiter."""
ENVIRON: dict[str, str] = {}
"""The process's environment as it started, before the settings loaded ``.env`` into ``os.environ``
(passwords, the Fernet keys, the secret key): the waiter gets this one, so its ``/proc/PID/environ``
shows no more than the command's own did."""

ROOT = Path(__file__).resolve().parents[3]
_PLAIN = {"PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TERM", "TZ", "PYTHONIOENCODING",
          "PYTHONUNBUFFERED", "PYTHONPATH"}
"""Where the starting environment is unknown (not started by manage.py): only these go to the waiter."""


def possible() -> bool:
    from django.db import connection

    return STANDALONE and connection.vendor == "postgresql" and os.environ.get("MOP_WAIT_IN_PROCESS") != "1"


def hand_over(command, run, *, timeout: float | None, outcome_line: bool = False) -> None:
    """Replace this process with the waiter for ``run``; returns only where that is not possible."""
    if not possible():
        return
    spec = json.dumps(_spec(run, timeout, outcome_line)).encode()
    base = ENVIRON or {k: v for k, v in os.environ.items() if k in _PLAIN}
    env = {**base, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [base.get("PYTHONPATH")])])}
    fd = spec_pipe(spec)
    command.stdout.flush()
    command.stderr.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    from django.db import connections

    connections.close_all()  # the server sees a clean goodbye, not a socket left to the next program
    # Ctrl-C while the waiter's Python starts would print a traceback from its imports: ignored until its
    # main() installs its own handler (an ignored signal stays ignored across exec).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.execve(sys.executable, [sys.executable, "-m", "portal.ops.cli.waiter", str(fd)], env)


def spec_pipe(spec: bytes) -> int:
    """A pipe holding the spec, its read end inherited by the next program: the password in the spec never
    appears in the environment or the command line (``/proc/PID/environ``, ``ps``)."""
    r, w = os.pipe()
    try:
        os.write(w, spec)  # a few hundred bytes: far below the pipe's buffer, never blocks
    finally:
        os.close(w)
    os.set_inheritable(r, True)
    return r


def _spec(run, timeout: float | None, outcome_line: bool) -> dict[str, Any]:
    """What the waiter needs from Django: the connection, the run, which statuses still wait, their labels."""
    from portal.ops.models import Run

    return {
        "conninfo": _conninfo(), "run": run.pk, "timeout": timeout, "poll": 0.5,
        "deadline": None if timeout is None else time.time() + timeout,  # counted from here, as common.wait does
        "active": [str(s) for s in Run.ACTIVE], "waiting": [str(s) for s in Run.WAITING],
        "labels": {str(v): str(label) for v, label in Run.Status.choices},
        "outcome_line": outcome_line,
    }


def _conninfo() -> str:
    """The portal connection's own parameters (password included), as libpq reads them."""
    from django.db import connection
    from psycopg.conninfo import make_conninfo

    connection.ensure_connection()
    info = connection.connection.info
    params = info.get_parameters()
    if info.password:
        params["password"] = info.password
    return make_conninfo(**params)
