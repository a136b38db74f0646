"""Ask for a rehearsal of a plan and carry it out on a worker (claim, run the engine, store the report)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.timezone import now

from migrations_ops.errors import OpsError
from migrations_ops.progress import Progress
from migrations_ops.rehearse import inverse, rehearse_plan
from portal.ops import audit, services
from portal.ops.models import AuditEvent, Target
from portal.ops.secrets import redact

from .models import Rehearsal
from .servers import rehearsal_server

MAX_SAMPLE_ROWS = 100_000


def request_rehearsal(target: Target, revision: str, *, operation: str = "upgrade", with_data: int = 0,
                      user=None, actor: str | None = None) -> Rehearsal:
    """Plan ``operation`` to ``revision`` from the target's live heads and queue its rehearsal (audited)."""
    if user is not None:
        services.require(user, "assure.request_rehearsal")
    if not isinstance(with_data, int) or not 0 <= with_data <= MAX_SAMPLE_ROWS:
        raise ValidationError(f"--with-data must be between 0 and {MAX_SAMPLE_ROWS} rows per table, not {with_data!r}")
    if operation not in ("upgrade", "downgrade"):
        raise ValidationError(f"Only upgrades and downgrades are rehearsed, not {operation!r}")
    server, _ = rehearsal_server(target)
    preview = services.preview_plan(target, operation, revision)
    if not preview.steps:
        raise ValidationError(f"Nothing to rehearse: {target.name} is already at {revision}")
    try:
        inverse(operation, preview.from_heads)
    except OpsError as exc:
        raise ValidationError(str(exc)) from None
    who = actor or (user.get_username() if user is not None else "system")
    with transaction.atomic():
        rehearsal = Rehearsal.objects.create(
            target=target, server_name=server.name, operation=operation, revision=revision.strip(),
            from_heads=list(preview.from_heads), to_heads=list(preview.to_heads),
            plan_steps=[s.to_json() for s in preview.steps], sql_hash=preview.sql_hash or "",
            project_fingerprint=services.resolve(target.project).fingerprint, with_data=with_data, actor=who,
            requested_by=user if user is not None and user.pk else None)
        audit.record(actor=who, actor_kind=AuditEvent.ActorKind.USER if user is not None else AuditEvent.ActorKind.SYSTEM,
                     action="rehearsal.requested", target=target, operation=operation,
                     from_revision=rehearsal.from_heads, to_revision=rehearsal.to_heads, sql_hash=rehearsal.sql_hash,
                     params={"rehearsal": rehearsal.pk, "with_data": with_data, "server": server.name})
        transaction.on_commit(lambda: _enqueue(rehearsal.pk))
    return rehearsal


def _enqueue(rehearsal_id: int) -> None:
    from portal.celery import app  # the task is looked up by name: tasks.py imports this module

    app.send_task("assure.rehearse", (rehearsal_id,), task_id=str(uuid.uuid4()))


def execute(rehearsal_id: int) -> str:
    """Claim a queued rehearsal and run it; returns its final status (writes the DB, reads the target)."""
    if not Rehearsal.objects.filter(pk=rehearsal_id, status=Rehearsal.Status.QUEUED).update(
            status=Rehearsal.Status.RUNNING, started_at=now()):
        return "not-queued"
    rehearsal = Rehearsal.objects.select_related("target", "target__project").get(pk=rehearsal_id)
    target = rehearsal.target
    conn = target.conn()
    fields: dict = {}

    def finish(values: dict) -> None:
        """Store the outcome once (the engine hands the report over before it drops the scratch database)."""
        if fields:
            return
        fields.update(values)
        Rehearsal.objects.filter(pk=rehearsal_id).update(finished_at=now(), progress="", **fields)
        audit.record(actor=rehearsal.actor, actor_kind=AuditEvent.ActorKind.USER, action="rehearsal.finished",
                     target=target, operation=rehearsal.operation, from_revision=rehearsal.from_heads,
                     to_revision=rehearsal.to_heads, sql_hash=rehearsal.sql_hash, outcome=fields["status"],
                     error=fields.get("error", "")[:2000], params={"rehearsal": rehearsal.pk})

    def stored(report) -> None:
        finish({"status": Rehearsal.Status.PASSED if report.passed else Rehearsal.Status.FAILED,
                "report": report.to_json(), "error": redact("\n".join(report.problems), conn.password)})

    try:
        _server, server_conn = rehearsal_server(target)

        def progress(p: Progress) -> None:
            update: dict = {"progress": redact(p.message, conn.password)[:300]}
            if p.data.get("event") == "step_committed":
                update["steps_done"] = F("steps_done") + 1
            Rehearsal.objects.filter(pk=rehearsal_id, finished_at__isnull=True).update(**update)

        rehearse_plan(conn, server_conn, services.resolve_for_run(_as_run(rehearsal)), rehearsal.operation,
                      rehearsal.revision, tuple(rehearsal.from_heads), rehearsal_id=rehearsal.pk,
                      with_data=rehearsal.with_data, progress=progress, on_report=stored)
    except (OpsError, ValidationError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        finish({"status": Rehearsal.Status.ERROR, "error": redact(text, conn.password)})
    except Exception as exc:  # noqa: BLE001 - a rehearsal never stays running
        finish({"status": Rehearsal.Status.ERROR,
                "error": f"{type(exc).__name__}: {redact(str(exc), conn.password)}"})
    finally:
        finish({"status": Rehearsal.Status.ERROR, "error": "The worker stopped before the rehearsal finished"})
    return fields["status"]


class _as_run:  # noqa: N801 - the shape services.resolve_for_run reads
    """The two fields of a Run that ``resolve_for_run`` needs, from a rehearsal."""

    def __init__(self, rehearsal: Rehearsal) -> None:
        self.target, self.project_fingerprint = rehearsal.target, rehearsal.project_fingerprint
