"""``manage.py ops rejects RUN_ID``: a copy's rejected rows, as the admin's rejects page and CSV show them.

The evidence of a copy with rejects used to be reachable only in the admin or
with psql on ``mop.copy_reject``. This prints the same rows, read by the same
functions (``copy_figures.rejects`` / ``copy_figures.rejects_csv_rows``), as text, JSON
or CSV. Same contract as ``cli.py``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from migrations_ops.names import match_name

from .. import copy_figures, copy_outcome
from ..models import Run
from .common import acting_user, check_view, dump_json


def _run(run_id: int) -> Run:
    run = Run.objects.select_related("target").filter(pk=run_id).first()
    if run is None:
        raise ValidationError(f"No run #{run_id}")
    if run.operation != Run.Operation.COPY:
        raise ValidationError(f"Run #{run_id} is {run.get_operation_display().lower()} {run.revision}".rstrip()
                              + ", not a copy: only copies have rejects")
    return run


def _table(run: Run, table: str | None) -> str | None:
    """``--table`` as the copy's source table (by the one name rule, or its target name); a table the copy did
    not load is an error, not "0 record(s)"."""
    names = copy_figures.target_table_names(run)
    if not table or not names:  # no mapping kept (a copy that never planned): nothing to check against
        return table
    found = match_name(table, names) or next((src for src, tgt in names.items() if tgt == table), None)
    if found is None:
        raise ValidationError(f"Copy run #{run.pk} loaded no table {table!r} (it loaded: {', '.join(sorted(names))})")
    return found


def reject_json(r, names: dict[str, str] | None = None) -> dict[str, Any]:
    """One reject as the JSON of ``ops rejects --json`` (docs/cli.md); ``table`` is the source table's name."""
    return {"table": r.table, "target_table": (names or {}).get(r.table), "key": r.key, "column": r.column,
            "value_hex": r.value_hex, "reason": r.reason, "code": r.code, "created_at": r.created_at}


def cmd_rejects(command, options) -> None:
    """Print every reject (and replacement warning) of a copy run, oldest first; connects to the target."""
    check_view(acting_user(options, required=False, what="rejects"), "ops.view_run")
    run = _run(options["run_id"])
    table = _table(run, options.get("table") or None)
    if options.get("csv"):
        for line in copy_figures.rejects_csv_rows(run, table):
            command.stdout.write(line, ending="")
        return
    rows = copy_figures.rejects(run, table, limit=None)
    if options.get("json"):
        names = copy_figures.target_table_names(run)
        return dump_json(command, [reject_json(r, names) for r in rows])
    out = command.stdout.write
    by_reason = copy_outcome.rejects_by_reason((run.progress_data or {}).get("summary"))
    out(f"Rejects of copy run #{run.pk} ({run.get_status_display()}), copy id {run.params.get('copy_id')}"
        + (f", table {table}" if table else "") + f": {len(rows)} record(s)")
    if by_reason and not table:
        out("by reason: " + ", ".join(f"{code} {n:,}" for code, n in by_reason.items()))
    for r in rows:
        value = f" value 0x{r.value_hex}" if r.value_hex else ""
        out(f"  {r.table:<20} key {r.key:<12} {r.column or '-':<16} {r.reason}{value}")
