"""What each ``manage.py ops`` subcommand does; small functions over the services.

Each ``cmd_<name>(command, options)`` prints to ``command.stdout`` and raises
``ValidationError`` / ``PermissionDenied`` / ``OpsError`` for the command to
turn into a one-line message and exit code 2. JSON shapes: docs/cli.md.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction

from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.revisions import list_revisions
from migrations_ops.target import TargetConn

from . import audit, dispatch, services
from .models import AlembicProject, AuditEvent, Run, RunLog, Target
from .roles import ensure_roles

EXIT_FAILED, EXIT_STOPPED = 1, 2
EXIT_REJECTS = 4  # with --wait: a copy ended "succeeded with rejects" (every table loaded, some rows rejected)


# --- helpers ------------------------------------------------------------------------


def _user(options: dict, *, required: bool, what: str):
    """The portal user the CLI acts as; mutating commands refuse to run without one."""
    name = (options.get("user") or "").strip()
    if not name:
        if required:
            raise ValidationError(f"'ops {what}' changes things: say who you are with --user NAME or MOP_CLI_USER")
        return None
    user = get_user_model().objects.filter(username=name).first()
    if user is None or not user.is_active:
        raise ValidationError(f"No active portal user named {name!r}")
    return user


MAX_LIST = 10_000


def _limit(value: int) -> int:
    """``--limit`` kept between 1 and MAX_LIST: a huge number would overflow the query's LIMIT (bigint)."""
    return max(1, min(value, MAX_LIST))


def _check_view(user, perm: str) -> None:
    if user is not None:
        services.require(user, perm)


def _target(name: str) -> Target:
    target = Target.objects.select_related("project").filter(name=name).first()
    if target is None:
        known = ", ".join(Target.objects.values_list("name", flat=True)[:20]) or "none registered"
        raise ValidationError(f"Unknown target {name!r} (known: {known})")
    return target


def _dump(command, data: Any) -> None:
    command.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _iso(dt) -> str | None:
    return dt.isoformat() if dt else None


def run_json(run: Run) -> dict[str, Any]:
    """The stable JSON of a run (docs/cli.md)."""
    return {
        "id": run.pk, "target": run.target.name, "operation": run.operation, "revision": run.revision,
        "status": run.status, "actor": run.actor, "from_heads": run.from_heads, "to_heads": run.to_heads,
        "result_heads": run.result_heads, "steps_done": run.steps_done, "steps_total": run.steps_total,
        "plan_steps": run.plan_steps, "step_timings": run.step_timings, "sql_hash": run.sql_hash,
        "project_fingerprint": run.project_fingerprint, "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at), "worker": run.worker,
        "error": run.error, "error_code": run.error_code, "error_explanation": run.error_explanation,
        "lock_retries": run.params.get("lock_retries"), "safety_findings": run.safety_findings,
    }


def target_json(t: Target) -> dict[str, Any]:
    return {
        "name": t.name, "environment": t.environment, "project": t.project.name, "host": t.host, "port": t.port,
        "dbname": t.dbname, "user": t.user, "sslmode": t.sslmode, "has_password": t.has_password,
        "active": t.is_active, "lock_timeout_ms": t.lock_timeout_ms, "statement_timeout_ms": t.statement_timeout_ms,
        "lock_retries": t.lock_retries,
    }


def event_json(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.pk, "created_at": _iso(e.created_at), "actor": e.actor, "actor_kind": e.actor_kind,
        "action": e.action, "target": e.target_name, "run": e.run_id, "operation": e.operation,
        "from_revision": e.from_revision, "to_revision": e.to_revision, "params": e.params, "sql_hash": e.sql_hash,
        "outcome": e.outcome, "error": e.error, "prev_hash": e.prev_hash, "hash": e.hash,
    }


def _revs(heads) -> str:
    return ", ".join(heads) if heads else "base"


# --- reading --------------------------------------------------------------------------


def cmd_targets(command, options) -> None:
    _check_view(_user(options, required=False, what="targets"), "ops.view_target")
    targets = Target.objects.select_related("project").order_by("name")
    if options["json"]:
        return _dump(command, {"targets": [target_json(t) for t in targets]})
    for t in targets:
        flag = "" if t.is_active else " (inactive)"
        command.stdout.write(f"{t.name:<24} {t.environment:<12} {t.project.name:<20} {t.where()}{flag}")


def cmd_revisions(command, options) -> None:
    _check_view(_user(options, required=False, what="revisions"), "ops.view_alembicproject")
    if options.get("format") == "alembic":
        from .cli_history import alembic_history  # noqa: PLC0415 - only this format needs it
        return alembic_history(command, options)
    if options.get("project"):
        path = Path(options["project"]).expanduser()
        if not path.exists():
            raise ValidationError(f"Project path {path} does not exist")
        listing = list_revisions(resolve_project(ProjectSource(location=str(path.resolve()))))
    else:
        listing = services.project_listing(_target(options["target"]).project)
    if options["json"]:
        data = listing.to_json()
        return _dump(command, json.loads(data) if isinstance(data, str) else data)
    for r in listing.revisions:
        flags = [name for name, on in (("head", r.is_head), ("base", r.is_base), ("branchpoint", r.is_branch_point),
                                       ("mergepoint", r.is_merge_point)) if on]
        labels = f" [{', '.join(r.branch_labels)}]" if r.branch_labels else ""
        deps = f" depends on {', '.join(r.depends_on)}" if r.depends_on else ""
        flag = f" ({', '.join(flags)})" if flags else ""
        command.stdout.write(f"{', '.join(r.parents) or '<base>'} -> {r.id}{flag}{labels}{deps}, {r.message}")
    for p in listing.problems:
        command.stderr.write(f"problem: {p.path or p.revision}: {p.reason}")


def cmd_status(command, options) -> None:
    _check_view(_user(options, required=False, what="status"), "ops.view_target")
    target = _target(options["target"])
    status = services.target_status(target)
    if options["json"]:
        return _dump(command, {"target": target.name, "environment": target.environment, **status.to_json()})
    command.stdout.write(f"{target.name} ({target.environment}) at {_revs(status.current)}")
    command.stdout.write(f"project heads: {_revs(status.heads)}")
    command.stdout.write("up to date" if status.up_to_date else f"pending: {', '.join(status.pending) or '-'}")
    for p in status.problems:
        command.stdout.write(f"problem [{p.code}]: {p.message} - {p.explanation}")


def cmd_runs(command, options) -> None:
    _check_view(_user(options, required=False, what="runs"), "ops.view_run")
    runs = Run.objects.select_related("target").order_by("-created_at")
    if options.get("target"):
        runs = runs.filter(target=_target(options["target"]))
    runs = list(runs[: _limit(options["limit"])])
    if options["json"]:
        return _dump(command, {"runs": [run_json(r) for r in runs]})
    for r in runs:
        command.stdout.write(f"#{r.pk:<6} {r.status:<11} {r.operation} {r.revision} on {r.target.name} by {r.actor}")


def cmd_audit(command, options) -> None:
    _check_view(_user(options, required=False, what="audit"), "ops.view_auditevent")
    events = AuditEvent.objects.order_by("-id")
    if options.get("target"):
        events = events.filter(target_name=options["target"])
    events = list(events[: _limit(options["limit"])])
    if options["json"]:
        return _dump(command, {"events": [event_json(e) for e in events]})
    for e in events:
        revs = f" {e.from_revision or 'base'} -> {e.to_revision or 'base'}" if e.operation else ""
        outcome = f" [{e.outcome}]" if e.outcome else ""
        command.stdout.write(
            f"{e.created_at:%Y-%m-%d %H:%M:%S} {e.actor} {e.action} {e.target_name}{revs}{outcome}".rstrip()
        )


def cmd_verify_audit(command, options) -> None:
    _check_view(_user(options, required=False, what="verify-audit"), "ops.verify_audit_chain")
    try:
        report = audit.verify_chain(expect_head=options.get("expect_head"))
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    if not report.ok:
        raise CommandError(f"Audit chain broken at event #{report.first_bad_id}: {report.reason}", returncode=1)
    command.stdout.write(f"OK: {report.reason}")


def cmd_audit_head(command, options) -> None:
    """The newest audit event as ID:HASH, to keep outside the portal (ticket, log system)."""
    _check_view(_user(options, required=False, what="audit-head"), "ops.view_auditevent")
    head = audit.chain_head()
    if options.get("json"):
        return _dump(command, {"id": head.id, "hash": head.hash, "created_at": _iso(head.created_at),
                               "anchor": head.anchor} if head else {"id": None, "hash": None, "created_at": None,
                                                                    "anchor": None})
    if head is None:
        raise ValidationError("The audit trail is empty: nothing to anchor yet")
    command.stdout.write(head.anchor)


# --- changing things ---------------------------------------------------------------------


def _schedule(command, options, operation: str) -> None:
    target = _target(options["target"])
    if options.get("sql"):
        # Rendering the SQL imports and runs revision code: not a viewer's read, as in the admin.
        _check_view(_user(options, required=False, what=operation), "ops.schedule_run")
        preview = services.preview_plan(target, operation, options["revision"])
        if options.get("json"):
            _dump(command, {**preview.plan.to_json(), "findings": preview.findings_json()})
        else:
            command.stdout.write(preview.sql)
            command.stdout.write(findings_as_sql_comments(preview.findings_json()))
        if preview.sql_error:  # as 'alembic upgrade --sql' does when a revision cannot render
            raise CommandError(f"SQL preview stopped: {preview.sql_error}", returncode=EXIT_FAILED)
        return
    user = _user(options, required=True, what=operation)
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
            return _dump(command, {"scheduled": False, "nothing_to_do": True, "message": exc.message})
        command.stdout.write(exc.message)
        return
    if not options.get("json"):
        command.stdout.write(
            f"Scheduled run #{run.pk}: {operation} {run.revision} on {target.name}, {run.steps_total} step(s) "
            f"from {_revs(run.from_heads)} to {_revs(run.to_heads)}"
        )
        if run.status in Run.WAITING:  # change control holds it
            command.stdout.write(f"Run #{run.pk} is {run.get_status_display().lower()}; see 'ops approvals'"
                                 + ("; waiting for it (--wait)" if options.get("wait") else ""))
    if options.get("wait"):
        run = wait(command, run, timeout=options.get("timeout"), quiet=options.get("json"))
    if options.get("json"):
        _dump(command, run_json(run))
    if options.get("wait"):
        _exit_for(run)


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


def wait(command, run: Run, *, timeout: float | None = None, quiet: bool = False, poll: float = 0.5) -> Run:
    """Poll the run until it ends, printing its log lines as they come (reads the DB)."""
    last_id, deadline = 0, None if timeout is None else time.monotonic() + timeout
    while True:
        with transaction.atomic():
            run.refresh_from_db()
            lines = list(RunLog.objects.filter(run=run, id__gt=last_id).order_by("id"))
        for line in lines:
            last_id = line.pk
            if not quiet:
                command.stdout.write(f"{line.created_at:%H:%M:%S} {line.level:<7} {line.message}")
        if not run.is_active and run.status not in Run.WAITING:
            return run
        if deadline is not None and time.monotonic() > deadline:
            raise CommandError(f"Run #{run.pk} still {run.status} after {timeout:g} s; it goes on", returncode=3)
        time.sleep(poll)


def _exit_for(run: Run) -> None:
    if run.status == Run.Status.SUCCEEDED:
        return
    code = {Run.Status.FAILED: EXIT_FAILED, Run.Status.SUCCEEDED_REJECTS: EXIT_REJECTS}.get(run.status, EXIT_STOPPED)
    if run.status == Run.Status.SUCCEEDED_REJECTS:
        raise CommandError(f"Run #{run.pk} {run.status}: {(run.progress_data or {}).get('outcome', '')}", returncode=code)
    why = f": {run.error}" if run.error else ""
    failure = (run.error_data or {}).get("failure")
    if failure:  # class, statement, revision file and line, as the Alembic CLI shows them
        from migrations_ops.schema.failure import failure_lines  # noqa: PLC0415

        why += "".join(f"\n  {line}" for line in failure_lines(failure))
    raise CommandError(f"Run #{run.pk} {run.status}{why}", returncode=code)


def cmd_upgrade(command, options) -> None:
    _schedule(command, options, "upgrade")


def cmd_downgrade(command, options) -> None:
    _schedule(command, options, "downgrade")


def cmd_stamp(command, options) -> None:
    _schedule(command, options, "stamp")


def cmd_cancel(command, options) -> None:
    user = _user(options, required=True, what="cancel")
    run = Run.objects.select_related("target").filter(pk=options["run_id"]).first()
    if run is None:
        raise ValidationError(f"No run #{options['run_id']}")
    run = services.cancel_run(run, user=user)
    command.stdout.write(f"Run #{run.pk}: {'cancelled' if run.status == Run.Status.CANCELLED else 'cancel requested'}")


def _project_for(path_arg: str, name: str | None) -> AlembicProject:
    """Reuse the project registered for this directory, or register it (it must resolve)."""
    path = Path(path_arg).expanduser()
    if not path.exists():
        raise ValidationError(f"Project path {path} does not exist")
    location = str(path.resolve())
    existing = AlembicProject.objects.filter(kind=AlembicProject.Kind.PATH, location=location).first()
    if existing:
        return existing
    resolve_project(ProjectSource(location=location))  # ProjectNotFound if it has no scripts
    name = name or path.resolve().name
    if AlembicProject.objects.filter(name=name).exists():
        raise ValidationError(f"A project named {name!r} already exists at another path; pass --project-name")
    return AlembicProject.objects.create(name=name, location=location)


def cmd_add_target(command, options) -> None:
    user = _user(options, required=True, what="add-target")
    services.require(user, "ops.add_target")
    var, name = options["dsn_env"], options["name"]
    if not os.environ.get(var):
        raise ValidationError(f"Environment variable {var} is not set (it must hold postgresql://USER:PASSWORD@HOST:PORT/DBNAME)")
    conn = TargetConn.from_url(os.environ[var])
    if Target.objects.filter(name=name).exists():
        raise ValidationError(f"A target named {name!r} already exists")
    with transaction.atomic():
        project = _project_for(options["project"], options.get("project_name"))
        target = Target(
            name=name, environment=options["environment"], project=project, host=conn.host, port=conn.port,
            dbname=conn.dbname, user=conn.user, sslrootcert=conn.sslrootcert or "",
            sslmode=conn.sslmode if "sslmode=" in os.environ[var] else Target.SSLMode.DEFAULT,
        )
        try:
            target.full_clean(exclude=["password_encrypted"])
        except ValidationError as exc:
            raise ValidationError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        services.save_target(target, user=user, password=conn.password or None, created=True)
    command.stdout.write(f"Target {target.name} ({target.environment}) added: {conn.redacted()}, project {project.name}")


def cmd_reap(command, options) -> None:
    reaped = services.reap_stale_runs()
    for run in reaped:
        command.stdout.write(f"Run #{run.pk} on {run.target.name} interrupted; target at {_revs(run.result_heads)}")
    orphans = dispatch.reap_orphaned_queued()
    for run in orphans:
        command.stdout.write(f"Run #{run.pk} on {run.target.name} failed: {run.error}")
    command.stdout.write(f"{len(reaped) + len(orphans)} run(s) reaped")


# --- locks and activity -------------------------------------------------------


def cmd_locks(command, options) -> None:
    """Who blocks whom on a target now: root blockers first, waiters indented under them."""
    from . import diagnostics

    user = _user(options, required=False, what="locks")
    _check_view(user, "ops.view_target")
    snap = diagnostics.look(_target(options["target"]), user=user)
    tree = snap.tree
    if options["json"]:
        return _dump(command, {
            "target": options["target"], "taken_at": _iso(snap.taken_at),
            "root_blockers": sum(1 for r in tree.roots if r.blocks_transitively),
            "blocked": tree.blocked_count, "roots": tree.to_json()["roots"],
        })
    if not tree:
        command.stdout.write(f"{options['target']}: no session is blocked")
        return
    for depth, n in tree.walk():
        waits = f" waits {n.lock_mode} on {n.relation or n.lock_type}" if n.lock_mode else ""
        blocks = f" blocks {n.blocks_directly}/{n.blocks_transitively}" if n.blocks_transitively else ""
        xact = f"{n.xact_seconds:.1f}s" if n.xact_seconds is not None else "-"
        query = " ".join(n.query.split())[:80]
        command.stdout.write(
            f"{'  ' * depth}{n.pid} [{n.state or n.backend_type}, xact {xact}]{blocks}{waits} "
            f"{n.application_name or '-'} {n.usename or '-'}: {query}"
        )


def cmd_activity(command, options) -> None:
    """A target's summary strip and its long, idle-in-transaction and xmin-holding sessions."""
    from . import diagnostics

    user = _user(options, required=False, what="activity")
    _check_view(user, "ops.view_target")
    snap = diagnostics.look(_target(options["target"]), user=user)
    if options["json"]:
        data = snap.to_json()
        return _dump(command, {
            "target": options["target"], "taken_at": data["taken_at"], "server_version": data["server_version"],
            "summary": data["summary"], "long_transactions": data["long_transactions"],
            "idle_in_transaction": data["idle_in_transaction"], "xmin_holders": data["xmin_holders"],
        })
    s = snap.summary
    command.stdout.write(
        f"{options['target']}: {s.connections}/{s.max_connections} connections; {s.active} active, {s.idle} idle, "
        f"{s.idle_in_transaction} idle in transaction, {s.waiting} waiting, {s.blocked} blocked"
    )
    for title, sessions in (("long transactions", snap.long_transactions),
                            ("idle in transaction", snap.idle_in_transaction),
                            ("xmin holders", snap.xmin_holders)):
        command.stdout.write(f"{title}: {len(sessions)}")
        for x in sessions:
            xact = f"{x.xact_seconds:.1f}s" if x.xact_seconds is not None else "-"
            command.stdout.write(f"  {x.pid} [{x.state}, xact {xact}] {x.application_name or '-'} "
                                 f"{x.usename or '-'}: {' '.join(x.query.split())[:80]}")


# --- first start ------------------------------------------------------------------------


EXAMPLE_PROJECT = "billing-example"
EXAMPLE_TARGETS = (("billing-dev", "development", "MOP_EXAMPLE_DEV_DSN"),
                   ("billing-prod", "production", "MOP_EXAMPLE_PROD_DSN"))


def cmd_bootstrap_example(command, options) -> None:
    """Idempotent first start: roles, the example project and targets, the reaper schedule, an admin user."""
    ensure_roles()
    project, _ = AlembicProject.objects.get_or_create(
        name=EXAMPLE_PROJECT,
        defaults={"location": str(settings.BASE_DIR / "examples" / "billing"),
                  "description": "The billing schema of seed 000: a branch and its merge, a batched backfill, "
                                 "an index built concurrently, a downgrade that loses data."},
    )
    for name, environment, var in EXAMPLE_TARGETS:
        if Target.objects.filter(name=name).exists():
            continue
        if not os.environ.get(var):
            command.stderr.write(f"{var} is not set: example target {name} skipped")
            continue
        conn = TargetConn.from_url(os.environ[var])
        target = Target(name=name, environment=environment, project=project, host=conn.host, port=conn.port,
                        dbname=conn.dbname, user=conn.user, sslmode=conn.sslmode)
        services.save_target(target, actor="bootstrap", password=conn.password or None, created=True)
        command.stdout.write(f"Example target {name} ({environment}): {conn.redacted()}")
    _reaper_schedule()
    _snapshot_schedule()
    from portal.health.schedule import ensure_schedule

    ensure_schedule()  # the periodic health reading (portal/health)
    _admin_user(command)


def _reaper_schedule() -> None:
    _beat_task("Reap runs whose worker died", "ops.reap_stale_runs", 30)


def _snapshot_schedule() -> None:
    """Periodic lock snapshots of every active target, every MOP_SNAPSHOT_INTERVAL_SECONDS."""
    _beat_task("Snapshot locks and activity of every target", "ops.snapshot_all_targets",
               settings.MOP_SNAPSHOT_INTERVAL_SECONDS)


def _beat_task(name: str, task: str, seconds: int) -> None:
    """Create the beat entry ``name`` if it is missing (writes the DB).

    Create only: an admin may have changed its interval or disabled it since, and a re-run keeps that.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask.objects.filter(name=name).exists():
        return
    every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": every})


def _admin_user(command) -> None:
    User = get_user_model()
    if User.objects.filter(username="admin").exists():
        return
    password = secrets.token_urlsafe(15)
    User.objects.create_superuser("admin", "admin@localhost", password)
    path = Path(settings.MOP_VAR_DIR) / "admin-password.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    os.chmod(path, 0o600)
    command.stdout.write(f"Superuser created: admin / {password}  (also in {path}, mode 600; shown once)")

