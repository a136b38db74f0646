"""Following a queued run to its end in a process that holds nothing but one database connection.

Why: ``ops copy --wait`` and ``ops upgrade --wait`` waited in the process that scheduled the run,
Django with every app loaded: 61-67 MB PSS (86-118 MB RSS) held for as long as the run takes, a
third of what the worker itself uses for a copy. Once the run is queued, the command hands its
process over (``exec``) to this module: the same process id, the same lines, the same exit codes,
from ~35 MB RSS.

It imports no Django: what it needs comes as one JSON document on an inherited pipe whose number is
its argument (built by ``handover.py``): the connection with its password (so never in the command
line or the environment, where ``ps`` and ``/proc`` show them), the run, which statuses still wait,
their labels and what to print at the end; the lines, messages and exit codes come from ``ending``,
as the Django wait's do. Like ``common.wait`` it LISTENs for status changes (migration 0011), reads
the run's status before its new lines (the last line commits with the status), and reads at least
every ``poll`` seconds.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any, TextIO

from .ending import EXIT_STOPPED, EXIT_TIMEOUT, exit_code, exit_text, log_text, outcome_text, timeout_text

_RUN = "SELECT status, error, error_data, progress_data FROM ops_run WHERE id = %s"
_LINES = "SELECT id, created_at, level, message FROM ops_runlog WHERE run_id = %s AND id > %s ORDER BY id"


def follow(spec: dict[str, Any], out: TextIO, err: TextIO) -> int:
    """Print the run's log lines until it ends; return the exit code ``common.exit_for`` would give."""
    import psycopg  # here, not at the top: main() catches a Ctrl-C that lands while it loads

    run_id, last_id = spec["run"], 0
    timeout, deadline = spec.get("timeout"), spec.get("deadline")
    nap = 0.05
    with psycopg.connect(spec["conninfo"], autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")  # as Django's connection shows the lines' times
        conn.execute("LISTEN mop_run_status")
        while True:
            row = conn.execute(_RUN, [run_id]).fetchone()
            if row is None:
                err.write(f"CommandError: run #{run_id} no longer exists\n")
                return EXIT_STOPPED
            status, error, error_data, progress = row
            for line_id, created_at, level, message in conn.execute(_LINES, [run_id, last_id]):
                last_id = line_id
                text = log_text(created_at, level, message)
                out.write(text if text.endswith("\n") else text + "\n")  # as a command's stdout.write
            out.flush()
            if status not in spec["active"] and status not in spec["waiting"]:
                return _ended(spec, status, error, error_data or {}, progress or {}, out, err)
            if deadline is not None and time.time() > deadline:
                err.write(f"CommandError: {timeout_text(run_id, status, timeout)}\n")
                return EXIT_TIMEOUT
            for _note in conn.notifies(timeout=min(nap, spec.get("poll", 0.5)), stop_after=1):
                break
            nap *= 2


def _ended(spec: dict[str, Any], status: str, error: str, error_data: dict[str, Any], progress: dict[str, Any],
           out: TextIO, err: TextIO) -> int:
    """The command's last line, then ``exit_for``'s message and code."""
    if spec.get("outcome_line") and progress.get("summary_text"):
        out.write(outcome_text(spec["labels"].get(status, status), progress.get("outcome", "")) + "\n")
    out.flush()
    code = exit_code(status)
    if code:
        err.write(f"CommandError: {exit_text(spec['run'], status, error, error_data, progress.get('outcome', ''))}\n")
    return code


def read_spec(fd: int) -> dict[str, Any]:
    with os.fdopen(fd, "rb") as f:
        return json.loads(f.read())


def main() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)  # ignored across the exec (handover.py)
    spec = read_spec(int(sys.argv[1]))
    try:
        code = follow(spec, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        sys.stderr.write(f"\nStopped waiting; run #{spec['run']} goes on ('ops runs' shows it)\n")
        code = 130
    except BrokenPipeError:  # | head: the reader has what it wanted, the run goes on
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    except Exception as exc:  # noqa: BLE001 - a lost database connection (psycopg.Error), said in one line
        if not type(exc).__module__.startswith("psycopg"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"CommandError: lost the portal's database while waiting for run #{spec['run']}: {first}\n")
        code = EXIT_STOPPED
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
