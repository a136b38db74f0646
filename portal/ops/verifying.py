"""Verification runs and their stored reports (issue 4).

A verification is a ``Run`` (operation VERIFY) that the worker turns into
one ``migrations_ops.verify.verify()`` call; the report it returns is stored
as a ``VerificationReport``. With a SQLite source it compares both sides;
without one it checks the target alone (orphans, NULLs, sequences, hygiene),
which is what follows an upgrade. Every copy run queues one when it finishes.
A verification only reads the target, so it does not take the target lock and
may run beside other work; a report names what it saw at that moment.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now

from . import audit, copying, dispatch, services
from .models import AuditEvent, Run, Target, VerificationReport


def schedule_verify(
    *,
    target: Target,
    source: str | None = None,
    tables: list[str] | str | None = None,
    user=None,
    actor: str | None = None,
    actor_kind: str = AuditEvent.ActorKind.USER,
    after_copy: Run | None = None,
) -> Run:
    """Record a verification run and queue it (writes the DB).

    :param source: SQLite file inside MOP_IMPORT_DIR; None for target-only mode.
    :param after_copy: the copy run this one follows (its tables and source).
    """
    if user is not None:
        services.require(user, "ops.schedule_run")
    path = copying.resolve_source(source) if source else None
    if path is not None:
        copying.check_readable(path)
    rel = copying.relative_name(path) if path is not None else None
    if not target.is_active:
        raise ValidationError(f"Target {target.name} is inactive; activate it before verifying it")
    tables = copying.parse_tables(tables)
    who = services._actor(user, actor)
    params: dict[str, Any] = {
        "source": rel, "tables": tables, "mode": "source" if rel else "target-only",
        **({"after_copy": after_copy.pk} if after_copy is not None else {}),
    }
    with transaction.atomic():
        run = Run.objects.create(
            target=target, operation=Run.Operation.VERIFY, revision="", actor=who, params=params,
            requested_by=user if user is not None and user.pk else None, celery_task_id=str(uuid.uuid4()),
        )
        audit.record(actor=who, actor_kind=actor_kind, action="run.scheduled", target=target, run=run,
                     operation=Run.Operation.VERIFY, params=audit.clean_params(params))
        dispatch.enqueue_on_commit(run, _enqueue)
    dispatch.raise_if_undispatched(run)
    return run


def _enqueue(run: Run) -> None:
    from .copy_tasks import verify_run

    verify_run.apply_async((run.pk,), task_id=run.celery_task_id, retry=True, retry_policy=dispatch.RETRY_POLICY)


def engine_args(run: Run) -> dict[str, Any]:
    """Arguments of ``verify()`` for this run (the source path is checked again on the worker)."""
    engine = services._engine("verify")
    src = run.params.get("source")
    return {
        "sqlite_path": copying.resolve_source(src) if src else None,
        "tables": run.params.get("tables") or None,
        "options": engine.VerifyOptions(statement_timeout_ms=run.target.statement_timeout_ms),
    }


def record_report(run: Run, report) -> VerificationReport:
    """Store the report, end the run SUCCEEDED (the report carries the verdict) and audit it (writes the DB)."""
    source = report.header.source
    data = report.to_dict()
    with transaction.atomic():
        vr = VerificationReport.objects.create(
            run=run, target=run.target, status=report.status, mode=report.header.mode, report=data,
            copy_run_id=run.params.get("after_copy"), source_path=run.params.get("source") or "",
            source_sha256=source.sha256 if source else "", source_size=source.size if source else None,
        )
        counts = {s: sum(1 for t in report.tables if t.status == s) for s in ("pass", "warn", "fail")}
        Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
            status=Run.Status.SUCCEEDED, finished_at=now(), current_step="",
            progress_data={**(run.progress_data or {}), "report_id": vr.pk, "report_status": vr.status,
                           "tables": counts})
        run.refresh_from_db()
        copying.log_line(run.pk, f"Report #{vr.pk}: {vr.status} ({counts['pass']} pass, {counts['warn']} warn, "
                                 f"{counts['fail']} fail)", "info" if vr.status == "pass" else "warning")
        audit.record(
            actor=run.actor, actor_kind=services._run_actor_kind(run), action="run.finished", target=run.target,
            run=run, operation=run.operation, outcome=Run.Status.SUCCEEDED,
            params={"report": vr.pk, "status": vr.status, "mode": vr.mode, "source_sha256": vr.source_sha256,
                    "tables": counts, "worker": run.worker},
        )
    return vr


def report_of(vr: VerificationReport):
    """The engine's ``Report`` rebuilt from the stored JSON."""
    return services._engine("verify").Report.from_dict(vr.report)


def compare(old: VerificationReport, new: VerificationReport):
    """What changed between two reports of the same target (``compare_reports``)."""
    if old.target_id != new.target_id:
        raise ValidationError("Only reports of the same target can be compared")
    if old.created_at > new.created_at:
        old, new = new, old
    return old, new, services._engine("verify").compare_reports(report_of(old), report_of(new))
