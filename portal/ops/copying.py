"""SQLite to PostgreSQL copy runs: options, pre-flight, scheduling, resume and abandon.

The engine (``migrations_ops.copy``) does the copying; this module holds the
portal's rules around it:

- A source is a file inside MOP_IMPORT_DIR (``copy_sources``).
- A copy run is one ``Run`` (operation COPY) with its parameters in
  ``run.params`` and its live figures in ``run.progress_data``. The worker
  plans it once, copies the ranges as one task each (every worker on the
  queue takes some, ``copy_ledger``) and the last range queues the finish;
  what the tasks write while it runs is in ``copy_worker``, what pages show in
  ``copy_figures``.
- A second copy into a target with an active copy run is refused here; the
  engine refuses it too (``CopyInProgress`` from its table in the target, and
  the target's advisory lock), whichever portal asks.
- A failed, cancelled or interrupted copy is resumed by a new run with the
  same copy id: committed ranges are skipped, the others redone. Until it is
  resumed to the end or abandoned (``abandon_copy_run``: the engine rebuilds
  what the copy dropped and closes it), a new copy into the target is refused
  here, as the engine would refuse it (``CopyInProgress``).
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now

from migrations_ops import copy as engine
from migrations_ops.copy import CopyOptions
from migrations_ops.copy.options import FTS_CONTENTFUL_MODES, IF_NOT_EMPTY, TEXT_POLICIES

from . import audit, copy_sources, dispatch, lifecycle, permissions
from .models import AuditEvent, Run, Target

log = logging.getLogger(__name__)

ENDED_FOR_RESUME = (Run.Status.FAILED, Run.Status.CANCELLED, Run.Status.INTERRUPTED)


# --- the source file ----------------------------------------------------------------


# --- options and pre-flight -----------------------------------------------------------


def copy_options(raw: dict[str, Any] | None, tables: list[str] | None = None) -> CopyOptions:
    """The engine's options from what a form or the CLI asked; raises ValidationError on bad input."""
    raw = dict(raw or {})
    policy = raw.get("text_policy") or "reject"
    if policy not in TEXT_POLICIES:
        raise ValidationError(f"text_policy must be one of {', '.join(TEXT_POLICIES)}, not {policy!r}")
    limit = raw.get("max_rejects")
    if limit in ("", None):
        limit = None
    else:
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            raise ValidationError(f"max_rejects must be a whole number, not {limit!r}") from None
        if limit < 0:
            raise ValidationError("max_rejects cannot be negative")
    if_not_empty = raw.get("if_not_empty") or "refuse"
    if if_not_empty not in IF_NOT_EMPTY:
        raise ValidationError(f"if_not_empty must be one of {', '.join(IF_NOT_EMPTY)}, not {if_not_empty!r}")
    kw: dict[str, Any] = {
        "tables": tuple(tables) if tables else None,
        "if_not_empty": if_not_empty,
        "create_missing_tables": bool(raw.get("create_missing_tables")),
        "text_policy": policy,
        "max_rejects": limit,
        "drop_secondary_indexes": bool(raw.get("drop_secondary_indexes")),
        "defer_constraints": bool(raw.get("defer_constraints")),
        "defer_source_keys": raw.get("defer_source_keys") not in (False, "false", "0", "off"),
        "accept_float4_rounding": bool(raw.get("accept_float4_rounding")),
    }
    for name in ("range_rows", "batch_rows"):
        if raw.get(name):
            kw[name] = max(1, int(raw[name]))
    return CopyOptions(**kw, **fts_choices(raw))


def preflight(target: Target, source: str, tables: list[str] | None = None, options: CopyOptions | None = None):
    """The engine's pre-flight report of ``source`` against the target (reads both, writes nothing).

    ``options`` (the copy's) decide the predicted rejects: text policy, float4 rounding.
    """
    path = copy_sources.resolve_source(source)
    return engine.preflight(path, target.conn(), tables or None, options=options)


def fts_choices(raw: dict[str, Any]) -> dict[str, Any]:
    """Tables skipped on purpose and the contentful-FTS choice; raises ValidationError on bad input."""
    mode = raw.get("fts_contentful") or "copy"
    if mode not in FTS_CONTENTFUL_MODES:
        raise ValidationError(f"fts_contentful must be one of {', '.join(FTS_CONTENTFUL_MODES)}, not {mode!r}")
    regconfig = str(raw.get("fts_regconfig") or "simple").strip()
    if not regconfig.replace("_", "").replace(".", "").isalnum():
        raise ValidationError(f"fts_regconfig must be a text search configuration name, not {regconfig!r}")
    return {"skip_tables": tuple(copy_sources.parse_tables(raw.get("skip_tables")) or ()), "fts_contentful": mode,
            "fts_regconfig": regconfig}


def skipped_definitions(run: Run) -> str:
    """The .sql file of what the copy run left behind: SQLite CREATE statements and suggested DDL (reads the file)."""
    from migrations_ops.copy import skipped

    objects = [skipped.SkippedObject.from_dict(d) for d in ((run.progress_data or {}).get("summary") or {}).get(
        "skipped") or []]
    if not objects:
        objects = list(not_copied(copy_sources.resolve_source(run.params["source"]), CopyOptions.from_dict(run.params["options"])))
    return skipped.definitions_sql(objects, run.params["source"])


def not_copied(path: Path, opts: CopyOptions):
    """What a copy of ``path`` with ``opts`` leaves behind, read from the source alone (before the copy ends)."""
    from migrations_ops.copy import skipped, source

    src = source.open_source(path)
    try:
        listed = source.list_tables(src)
        names = skipped.select_tables(listed, opts.tables, opts.skip_tables)
        return skipped.skipped_objects(src, listed, names, opts.skip_tables, schema=opts.schema,
                                       regconfig=opts.fts_regconfig)
    finally:
        src.close()


# --- scheduling -------------------------------------------------------------------------


def active_copy(target: Target) -> Run | None:
    return Run.objects.filter(target=target, operation=Run.Operation.COPY, status__in=Run.ACTIVE).first()


def unfinished_copy(target: Target, except_copy_id: str | None = None) -> Run | None:
    """The newest copy run that ended without finishing and is neither resumed nor abandoned (reads the DB).

    Its copy is still open in the target (plan, checkpoints, dropped indexes and
    keys): the engine would refuse a new copy with ``CopyInProgress``.
    """
    ended = Run.objects.filter(target=target, operation=Run.Operation.COPY, status__in=ENDED_FOR_RESUME)
    if except_copy_id:
        ended = ended.exclude(params__copy_id=except_copy_id)
    for run in ended.order_by("-pk")[:50]:
        if can_resume(run):
            return run
    return None


def schedule_copy(
    *,
    target: Target,
    source: str,
    tables: list[str] | None = None,
    options: dict[str, Any] | None = None,
    user=None,
    actor: str | None = None,
    actor_kind: str = AuditEvent.ActorKind.USER,
    confirm_name: str | None = None,
    resume_of: Run | None = None,
    preflight_summary: dict[str, Any] | None = None,
) -> Run:
    """Record a copy run and queue it (writes the DB; the worker does the rest).

    Steps: 1 check permission, the source path, the target, the typed-back name
    (production), the options; 2 refuse if a copy into this target is active;
    3 create the Run (copy id new, or the resumed run's) and its audit event;
    4 enqueue the plan task once the transaction commits.
    """
    if user is not None:
        permissions.require(user, "ops.schedule_run")
    path = copy_sources.resolve_source(source)
    copy_sources.check_readable(path)
    if not target.is_active:
        raise ValidationError(f"Target {target.name} is inactive; activate it before copying into it")
    tables = copy_sources.parse_tables(tables)
    opts = copy_options(options, tables)
    _check_truncate_confirmation(target, opts, confirm_name)
    permissions.check_confirmation(target, Run.Operation.COPY, confirm_name)
    busy = active_copy(target)
    if busy is not None and busy.status == Run.Status.QUEUED:
        raise ValidationError(
            f"A second copy into the same target is not started: copy run #{busy.pk} into {target.name} has been "
            f"queued since {busy.created_at:%Y-%m-%d %H:%M} UTC without a worker starting it; if no worker is running, "
            f"cancel run #{busy.pk} (Cancel on its page, or manage.py ops cancel {busy.pk}) and copy again.",
            code="copy_in_progress",
        )
    if busy is not None:
        raise ValidationError(
            f"Refused: copy run #{busy.pk} into {target.name} is still {busy.get_status_display().lower()}. "
            "A second copy into the same target is not started; wait for it, or cancel it first.",
            code="copy_in_progress",
        )
    open_copy = unfinished_copy(target, resume_of.params.get("copy_id") if resume_of is not None else None)
    if open_copy is not None:
        raise ValidationError(
            f"Refused: copy run #{open_copy.pk} into {target.name} ended {open_copy.get_status_display().lower()} "
            f"without finishing (copy id {open_copy.params.get('copy_id')}); its copy is still open on the target. "
            "Resume it, or abandon it (the dropped indexes and keys are rebuilt), before starting a new copy.",
            code="copy_unfinished",
        )
    copy_id = resume_of.params["copy_id"] if resume_of is not None else uuid.uuid4().hex[:12]
    who = permissions.actor_name(user, actor)
    params = {
        "copy_id": copy_id, "source": copy_sources.relative_name(path), "source_size": path.stat().st_size,
        "tables": tables, "options": opts.to_dict(), "confirmed": bool(confirm_name),
        **({"resume_of": resume_of.pk} if resume_of is not None else {}),
        **({"preflight": preflight_summary} if preflight_summary else {}),
    }
    with transaction.atomic():
        run = Run.objects.create(
            target=target, operation=Run.Operation.COPY, revision="", actor=who,
            requested_by=user if user is not None and user.pk else None, params=params,
            progress_data={"copy_id": copy_id, "phase": "queued"}, celery_task_id=str(uuid.uuid4()),
        )
        audit.record(
            actor=who, actor_kind=actor_kind, action="run.scheduled", target=target, run=run,
            operation=Run.Operation.COPY, params=_audit_params(params),
        )
        dispatch.enqueue_on_commit(run)
    dispatch.raise_if_undispatched(run)  # the run is failed already (it blocks no later copy)
    return run


def _check_truncate_confirmation(target: Target, opts: CopyOptions, confirm_name: str | None) -> None:
    """Emptying tables of a production target needs its name typed back, whatever else a copy needs there."""
    if opts.if_not_empty != "truncate" or not target.is_production:
        return
    if (confirm_name or "").strip() != target.name:
        raise ValidationError(
            f"if_not_empty=truncate empties the copied tables of the production target {target.name} first: type "
            f"the target's name ({target.name}) to confirm; nothing was scheduled", code="confirm_required")


def _audit_params(params: dict[str, Any]) -> dict[str, Any]:
    keep = ("copy_id", "source", "source_size", "tables", "options", "confirmed", "resume_of")
    return audit.clean_params({k: params[k] for k in keep if k in params})


def _ended_unfinished(run: Run) -> bool:
    """A copy run that ended without finishing, and no later run of its copy id runs or finished it."""
    if run.operation != Run.Operation.COPY or run.status not in ENDED_FOR_RESUME:
        return False
    if run.params.get("never_opened") or run.params.get("copy_finished"):
        return False  # a copy that finished in the target but imported nothing ends FAILED: nothing to resume
    later = Run.objects.filter(target=run.target_id, operation=Run.Operation.COPY, pk__gt=run.pk,
                               params__copy_id=run.params.get("copy_id"))
    return not later.filter(status__in=[*Run.ACTIVE, *Run.COMPLETED]).exists()


def abandoned_by(run: Run) -> Run | None:
    """The run of the same copy id on which the copy was abandoned, if it was (reads the DB)."""
    return (Run.objects.filter(target=run.target_id, operation=Run.Operation.COPY,
                               params__copy_id=run.params.get("copy_id"), params__has_key="abandoned")
            .order_by("-pk").first())


def can_resume(run: Run) -> bool:
    """A copy that ended without finishing, not finished by a later run, not abandoned (reads the DB)."""
    return _ended_unfinished(run) and abandoned_by(run) is None


def can_abandon(run: Run) -> bool:
    """A copy that ended without finishing; an abandoned one again only if some definition was not restored."""
    if not _ended_unfinished(run):
        return False
    done = abandoned_by(run)
    return done is None or bool((done.params["abandoned"].get("report") or {}).get("failed"))


def abandon_copy_run(run: Run, *, user=None, actor: str | None = None, reason: str,
                     actor_kind: str = AuditEvent.ActorKind.USER):
    """Give up a stopped copy for good: the engine rebuilds what it dropped and closes it (writes both DBs).

    Steps: 1 check permission, that the run can be abandoned, the reason;
    2 ``abandon_copy`` in the target (``TargetBusy`` while ranges still run:
    nothing changes); 3 log what was restored and what was not, mark the run
    (``params["abandoned"]``) and audit ``run.copy_abandoned`` with the report's
    figures. A copy the target has no state of (it failed before planning) has
    nothing to restore and is only marked. Afterwards a new copy is accepted.
    Returns the engine's ``AbandonReport`` (None for that last case).
    """
    if user is not None:
        permissions.require(user, "ops.schedule_run")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the copy is abandoned: the reason is required and kept in the audit trail.",
                              code="reason_required")
    if not can_abandon(run):
        raise ValidationError(
            f"Run #{run.pk} cannot be abandoned: only a failed, cancelled or interrupted copy that no later run "
            "finished or is running, and that was not abandoned already, can be.", code="not_abandonable")
    who = permissions.actor_name(user, actor)
    copy_id = run.params["copy_id"]
    conn = run.target.conn()
    note = f"{who}: {reason}"
    try:
        report = engine.abandon_copy(conn, copy_id, note)
    except engine.UnknownCopy:
        report = None
    except engine.CopyNotAbandonable as exc:
        raise ValidationError(f"{exc} ({exc.explanation})", code="not_abandonable") from None
    figures = report.to_dict() if report is not None else {
        "copy_id": copy_id, "note": note, "previous_status": "none", "ranges_committed": 0, "rows_loaded": 0,
        "rows_rejected": 0, "reject_records": 0, "restored": [], "failed": [], "foreign_keys_not_valid": []}
    figures = json.loads(json.dumps(figures, default=str))
    with transaction.atomic():
        r = Run.objects.select_for_update().get(pk=run.pk)
        params = {**r.params, "abandoned": {"at": now().isoformat(), "by": who, "reason": reason, "report": figures}}
        Run.objects.filter(pk=run.pk).update(params=params)
        secret = conn.password
        lifecycle.log_line(run.pk, f"Copy {copy_id} abandoned by {who}: {reason}", "warning", secret)
        if report is None:
            lifecycle.log_line(run.pk, f"The target holds no state of copy {copy_id} (it stopped before planning): "
                             "nothing to restore", secret=secret)
        else:
            lifecycle.log_line(run.pk, f"Was {report.previous_status}: {report.ranges_committed} range(s) committed, "
                             f"{report.rows_loaded} row(s) loaded (they stay), {report.rows_rejected} rejected",
                     secret=secret)
            lifecycle.log_line(run.pk, "Restored: " + (", ".join(report.restored) or "nothing was dropped"), secret=secret)
            if report.foreign_keys_not_valid:
                lifecycle.log_line(run.pk, "Foreign keys back NOT VALID (validate them once the data is complete): "
                         + ", ".join(report.foreign_keys_not_valid), "warning", secret)
            for kind, table, name, error in report.failed:
                lifecycle.log_line(run.pk, f"Not restored {kind} {table}.{name}: {error} (still saved; abandon again to retry)",
                         "error", secret)
        audit.record(
            actor=who, actor_kind=actor_kind, action="run.copy_abandoned", target=run.target, run=run,
            operation=Run.Operation.COPY, outcome="abandoned" if not figures["failed"] else "partly_restored",
            params=audit.clean_params({
                "copy_id": copy_id, "reason": reason, "previous_status": figures["previous_status"],
                "ranges_committed": figures["ranges_committed"], "rows_loaded": figures["rows_loaded"],
                "rows_rejected": figures["rows_rejected"], "reject_records": figures["reject_records"],
                "restored": figures["restored"], "failed": figures["failed"],
                "foreign_keys_not_valid": figures["foreign_keys_not_valid"],
            }),
        )
    run.refresh_from_db()
    return report


def resume_copy(run: Run, *, user=None, actor: str | None = None, confirm_name: str | None = None) -> Run:
    """A new copy run with the same copy id, source, tables and options: committed ranges are skipped."""
    if user is not None:
        permissions.require(user, "ops.schedule_run")
    if not can_resume(run):
        raise ValidationError(
            f"Run #{run.pk} cannot be resumed: only a failed, cancelled or interrupted copy that no later "
            "run finished or is running can be.", code="not_resumable")
    return schedule_copy(
        target=run.target, source=run.params["source"], tables=run.params.get("tables"),
        options=run.params.get("options"), user=user, actor=actor, confirm_name=confirm_name, resume_of=run,
    )


# --- the worker's side: plan, ranges, finish ---------------------------------------------
