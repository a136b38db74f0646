"""``manage.py ops fleet``: the dashboard's rows on a terminal, and its "Check revisions now" button."""

from __future__ import annotations

from portal.ops.cli.common import acting_user, check_view, dump_json

from . import dashboard, fleet


def _row_json(r: dashboard.Row) -> dict:
    snap = r.snapshot
    last, active = r.last_run, r.active_run
    return {
        "target": r.target.name, "environment": r.target.environment, "project": r.target.project.name,
        "state": r.standing.state, "state_label": r.standing.label, "pending": r.standing.pending,
        "current": list(r.standing.current) if r.standing.current is not None else None,
        "heads": list(r.standing.heads), "observed_at": r.standing.observed_at, "observed_by": r.standing.source,
        "last_run": {"id": last.pk, "operation": last.operation, "status": last.status,
                     "at": last.finished_at or last.created_at} if last else None,
        "active_run": {"id": active.pk, "status": active.status, "steps_done": active.steps_done,
                       "steps_total": active.steps_total} if active else None,
        "snapshot": {"taken_at": snap.taken_at, "blocked": snap.blocked, "fresh": r.snapshot_fresh,
                     "connections": (snap.summary or {}).get("connections"),
                     "longest_xact_seconds": (snap.summary or {}).get("longest_xact_seconds")} if snap else None,
        "report": r.report.status if r.report else None,
        "drift": r.drift.label if r.drift else None,
    }


def cmd_fleet(command, options) -> None:
    """Every target against head, its runs and blocked sessions (stored state); ``--check`` reads targets first."""
    user = acting_user(options, required=bool(options.get("check")), what="fleet --check")
    check_view(user, "ops.view_target")
    if options.get("check"):
        check_view(user, "ops.schedule_run")
        counts = fleet.check_fleet()
        if not options.get("json"):
            command.stdout.write(f"Read {counts['targets']} target(s) and {counts['projects']} project(s); "
                                 f"{counts['errors']} could not be read.")
    params = {k: options[k] for k in ("project", "environment", "state") if options.get(k)}
    view = dashboard.build(user, params) if user is not None else dashboard.build(_anyone(), params)
    if options.get("json"):
        return dump_json(command, {"counts": view.counts, "notes": view.notes, "targets": [_row_json(r) for r in view.rows]})
    for note in view.notes:
        command.stderr.write(note)
    c = view.counts
    command.stdout.write(f"{c['behind']} behind head · {c['running']} running · {c['failed_24h']} failed in 24 h · "
                         f"{c['blocked']} blocked sessions")
    for r in view.rows:
        s = r.standing
        pending = f" ({s.pending} pending)" if s.pending else ""
        last = f"#{r.last_run.pk} {r.last_run.operation} {r.last_run.status}" if r.last_run else "no run"
        blocked = f"{r.snapshot.blocked} blocked" if r.snapshot else "no snapshot"
        command.stdout.write(f"{r.target.name:<24} {r.target.environment:<11} {s.label}{pending:<14} {last:<28} {blocked}")


def _anyone():
    """No --user: read as nobody in particular (nothing waits for them)."""
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()
