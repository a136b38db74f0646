"""``manage.py ops drift | rehearse | backups | recovery``: the assurance buttons from the command line."""

from __future__ import annotations

import json
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from portal.ops.models import Run, Target

from .models import Backup, DriftCheck, Rehearsal
from .perms import require

# drift, recovery and rehearsing are imported by the command that uses them: ``ops`` imports this module
# for its parser at every start.


def add_arguments(sub) -> None:
    """Declare this app's subcommands on ``ops``'s subparsers."""
    p = sub.add_parser("drift", help="Check a target's revision and schema drift now (stored like a scheduled check).")
    p.add_argument("target")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("rehearse", help="Rehearse a plan on a scratch clone of the target (up, back, up again).")
    p.add_argument("target")
    p.add_argument("revision")
    p.add_argument("--downgrade", action="store_true", help="Rehearse a downgrade to REV (default: an upgrade).")
    p.add_argument("--with-data", type=int, default=0, metavar="N", help="Copy up to N rows per table first.")
    p.add_argument("--wait", action="store_true", help="Wait for the report; exit 0 passed, 1 failed or error.")
    p.add_argument("--timeout", type=float, default=None)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("backups", help="A target's backups: size, sha256, restore command, last restore test.")
    p.add_argument("target")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("recovery", help="After a failed or interrupted run: where the target stands, what next.")
    p.add_argument("run_id", type=int)
    p.add_argument("--json", action="store_true")


def _user(options: dict, required: bool):
    name = (options.get("user") or "").strip()
    if not name:
        if required:
            raise ValidationError("This command changes things: say who you are with --user NAME or MOP_CLI_USER")
        return None
    user = get_user_model().objects.filter(username=name, is_active=True).first()
    if user is None:
        raise ValidationError(f"No active portal user named {name!r}")
    return user


def _target(name: str) -> Target:
    target = Target.objects.select_related("project").filter(name=name).first()
    if target is None:
        raise ValidationError(f"Unknown target {name!r}")
    return target


def _dump(command, data: Any) -> None:
    command.stdout.write(json.dumps(data, indent=2, default=str))


def check_json(check: DriftCheck) -> dict[str, Any]:
    return {"id": check.pk, "target": check.target.name, "checked_at": check.checked_at, "state": check.state,
            "source": check.source, "heads": check.heads, "revision_findings": check.revision_findings,
            "schema_changes": [{k: c[k] for k in ("kind", "name", "change", "text")} for c in check.schema_changes],
            "error": check.error, "seconds": check.seconds}


def cmd_drift(command, options: dict) -> None:
    from . import drift  # noqa: PLC0415

    user = _user(options, required=False)
    if user is not None:
        require(user, "assure.run_drift_check")
    check = drift.check_drift(_target(options["target"]), actor=user.get_username() if user else "cli")
    if options["json"]:
        _dump(command, check_json(check))
    else:
        command.stdout.write(f"{check.target.name}: {check.get_state_display()} (expected schema: "
                             f"{check.get_source_display()}, {check.seconds:.2f} s)")
        for f in check.revision_findings:
            command.stdout.write(f"  revision: {f['message']}")
        for c in check.schema_changes:
            command.stdout.write(f"  schema: {c['text']}")
        if check.error:
            command.stdout.write(f"  error: {check.error}")
    if check.state != "clean":
        raise CommandError(f"drift state: {check.state}", returncode=1)


def rehearsal_json(r: Rehearsal) -> dict[str, Any]:
    return {"id": r.pk, "target": r.target.name, "server": r.server_name, "operation": r.operation,
            "revision": r.revision, "status": r.status, "sql_hash": r.sql_hash,
            "project_fingerprint": r.project_fingerprint, "with_data": r.with_data, "error": r.error,
            "report": r.report}


def cmd_rehearse(command, options: dict) -> None:
    from . import rehearsing  # noqa: PLC0415

    user = _user(options, required=True)
    rehearsal = rehearsing.request_rehearsal(
        _target(options["target"]), options["revision"], operation="downgrade" if options["downgrade"] else "upgrade",
        with_data=options["with_data"], user=user)
    command.stdout.write(f"Rehearsal #{rehearsal.pk} queued on {rehearsal.server_name} "
                         f"({len(rehearsal.plan_steps)} step(s), SQL {rehearsal.sql_hash[:12]})")
    if not options["wait"]:
        return
    deadline = None if options["timeout"] is None else time.monotonic() + options["timeout"]
    while rehearsal.is_active:
        if deadline is not None and time.monotonic() > deadline:
            raise CommandError(f"rehearsal #{rehearsal.pk} still {rehearsal.status}", returncode=2)
        time.sleep(0.5)
        rehearsal.refresh_from_db()
    if options["json"]:
        _dump(command, rehearsal_json(rehearsal))
    else:
        for phase in rehearsal.report.get("phases", []):
            for s in phase["steps"]:
                locks = ", ".join(f"{lk['mode']} {lk['relation']}" for lk in s["locks"][:4])
                command.stdout.write(f"  {phase['name']:5} {s['direction']:4} {s['revision']}: "
                                     f"{'ok' if s['ok'] else 'FAILED'} {s['seconds'] or 0:.3f} s {locks}")
        command.stdout.write(f"Rehearsal #{rehearsal.pk}: {rehearsal.get_status_display()}")
        for line in (rehearsal.error or "").splitlines():
            command.stdout.write(f"  {line}")
    if rehearsal.status != Rehearsal.Status.PASSED:
        raise CommandError(f"rehearsal {rehearsal.status}", returncode=1)


def cmd_backups(command, options: dict) -> None:
    rows = Backup.objects.filter(target=_target(options["target"])).order_by("-created_at", "-id")
    data = [{"id": b.pk, "run": b.run_id, "created_at": b.created_at, "status": b.status, "scope": b.scope,
             "tables": b.tables, "size": b.size, "seconds": b.seconds, "sha256": b.sha256, "path": b.path,
             "restore_command": b.restore_command, "error": b.error,
             "restore_test": b.restore_test or None} for b in rows]
    if options["json"]:
        _dump(command, data)
        return
    if not data:
        command.stdout.write(f"No backup of {options['target']} yet (backups are taken before runs whose policy asks "
                             "for one; see docs/assurance.md)")
    for b in data:
        test = "" if not b["restore_test"] else (" restore test " + ("passed" if b["restore_test"]["passed"] else "FAILED"))
        command.stdout.write(f"#{b['id']} {b['created_at']:%Y-%m-%d %H:%M} {b['status']} {b['scope']} "
                             f"{b['size']} B sha256 {b['sha256'][:16]} {b['path'] or b['error']}{test}")


def cmd_recovery(command, options: dict) -> None:
    from . import recovery  # noqa: PLC0415

    run = Run.objects.select_related("target", "target__project").filter(pk=options["run_id"]).first()
    if run is None:
        raise ValidationError(f"No run #{options['run_id']}")
    if not recovery.applies(run):
        raise ValidationError(f"Run #{run.pk} is {run.status}: recovery guidance is for failed, cancelled or "
                              "interrupted upgrades and downgrades")
    g = recovery.guidance(run)
    if options["json"]:
        _dump(command, g.to_json())
        return
    for line in g.lines():
        command.stdout.write(line)
