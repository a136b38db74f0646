"""Alembic runs from the command line: revisions, status, runs, upgrade/downgrade/stamp, cancel, reap."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from .. import dispatch, lifecycle, services
from ..models import Run
from .common import (
    EXIT_FAILED,
    acting_user,
    check_view,
    clamp_limit,
    dump_json,
    exit_for,
    revs_text,
    run_json,
    target_named,
    wait,
)
from .handover import hand_over


def cmd_runs(command, options) -> None:
    check_view(acting_user(options, required=False, what="runs"), "ops.view_run")
    runs = Run.objects.select_related("target").order_by("-created_at")
    if options.get("target"):
        runs = runs.filter(target=target_named(options["target"]))
    runs = list(runs[: clamp_limit(options["limit"])])
    if options["json"]:
        return dump_json(command, {"runs": [run_json(r) for r in runs]})
    for r in runs:
        what = r.revision or r.params.get("source") or ("target only" if r.operation == Run.Operation.VERIFY else "")
        command.stdout.write(f"#{r.pk:<6} {r.status:<11} {' '.join(filter(None, (r.operation, what)))} "
                             f"on {r.target.name} by {r.actor}")


def _schedule(command, options, operation: str) -> None:
    target = target_named(options["target"])
    if options.get("sql"):
        # Rendering the SQL imports and runs revision code: not a viewer's read, as in the admin.
        check_view(acting_user(options, required=False, what=operation), "ops.schedule_run")
        preview = services.preview_plan(target, operation, options["revision"])
        if options.get("json"):
            dump_json(command, {**preview.plan.to_json(), "findings": preview.findings_json()})
        else:
            command.stdout.write(preview.sql)
            command.stdout.write(findings_as_sql_comments(preview.findings_json()))
        if preview.sql_error:  # as 'alembic upgrade --sql' does when a revision cannot render
            raise CommandError(f"SQL preview stopped: {preview.sql_error}", returncode=EXIT_FAILED)
        return
    user = acting_user(options, required=True, what=operation)
    expected = options.get("expect_from")
    try:
        run = services.schedule_run(
            target=target, operation=operation, revision=options["revision"], user=user,
            confirm_name=options.get("confirm"), lock_timeout_ms=options.get("lock_timeout_ms"),
            statement_timeout_ms=options.get("statement_timeout_ms"), lock_retries=options.get("lock_retries"),
            expected_from=None if expected is None else [r for r in expected.split(",") if r and r != "base"],
            acknowledge_preview_failure=bool(options.get("acknowledge_preview_failure")),
        )
    except ValidationError as exc:
        if exc.code != "nothing_to_do":
            raise
        # Nothing to do is not a failure: say so and exit 0, with no run made.
        if options.get("json"):
            return dump_json(command, {"scheduled": False, "nothing_to_do": True, "message": exc.message})
        command.stdout.write(exc.message)
        return
    if not options.get("json"):
        command.stdout.write(
            f"Scheduled run #{run.pk}: {operation} {run.revision} on {target.name}, {run.steps_total} step(s) "
            f"from {revs_text(run.from_heads)} to {revs_text(run.to_heads)}"
        )
        for f in run.safety_findings or []:  # what the admin's confirm page shows, before the run starts
            if f.get("level") in ("danger", "warning"):
                where = f" (revision {f['revision']})" if f.get("revision") else ""
                command.stdout.write(f"{f['level'].upper()}: {f['rule']}{where}: {f['message']}")
        if run.status in Run.WAITING:  # change control holds it
            command.stdout.write(f"Run #{run.pk} is {run.get_status_display().lower()}; see 'ops approvals'"
                                 + ("; waiting for it (--wait)" if options.get("wait") else ""))
    if options.get("wait"):
        if not options.get("json"):  # the rest of this process's work is waiting: done by a small one
            hand_over(command, run, timeout=options.get("timeout"))
        run = wait(command, run, timeout=options.get("timeout"), quiet=options.get("json"))
    if options.get("json"):
        dump_json(command, run_json(run))
    if options.get("wait"):
        exit_for(run)


def findings_as_sql_comments(findings: list[dict]) -> str:
    """Safety findings as SQL comments, to print after the plan's SQL (the output stays valid SQL)."""
    counts = {lvl: sum(1 for f in findings if f["level"] == lvl) for lvl in ("danger", "warning", "info")}
    texts = [f"Safety findings: {', '.join(f'{n} {lvl}' for lvl, n in counts.items() if n) or 'none'}"]
    for f in findings:
        where = f" (revision {f['revision']})" if f.get("revision") else ""
        texts.append(f"[{f['level']}] {f['rule']}{where}: {f['message']}")
        if f.get("help"):
            texts.append(f"    help: {f['help']}")
    # Every physical line starts with '--', so a message with a newline cannot end the comment.
    return "\n" + "\n".join(f"-- {line}".rstrip() for text in texts for line in text.splitlines() or [""])


def cmd_upgrade(command, options) -> None:
    _schedule(command, options, "upgrade")


def cmd_downgrade(command, options) -> None:
    _schedule(command, options, "downgrade")


def cmd_stamp(command, options) -> None:
    _schedule(command, options, "stamp")


def cmd_cancel(command, options) -> None:
    user = acting_user(options, required=True, what="cancel")
    run = Run.objects.select_related("target").filter(pk=options["run_id"]).first()
    if run is None:
        raise ValidationError(f"No run #{options['run_id']}")
    run = services.cancel_run(run, user=user)
    command.stdout.write(f"Run #{run.pk}: {'cancelled' if run.status == Run.Status.CANCELLED else 'cancel requested'}")


def cmd_reap(command, options) -> None:
    reaped = lifecycle.reap_stale_runs()
    for run in reaped:
        command.stdout.write(f"Run #{run.pk} on {run.target.name} interrupted; target at {revs_text(run.result_heads)}")
    orphans = dispatch.reap_orphaned_queued()
    for run in orphans:
        command.stdout.write(f"Run #{run.pk} on {run.target.name} failed: {run.error}")
    command.stdout.write(f"{len(reaped) + len(orphans)} run(s) reaped")
