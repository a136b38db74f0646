"""SQLite to PostgreSQL copy runs: the source file, pre-flight, scheduling, live figures, outcome.

The engine (``migrations_ops.copy``) does the copying; this module holds the
portal's rules around it:

- A source is a file inside MOP_IMPORT_DIR (picked, typed, or uploaded there).
  Anything that resolves outside it (``..``, an absolute path elsewhere, a
  symlink pointing out) is refused before anything is created.
- A copy run is one ``Run`` (operation COPY) with its parameters in
  ``run.params`` and its live figures in ``run.progress_data``. The worker
  plans it once, copies the ranges as one task each (every worker on the
  queue takes some, ``copy_ledger``) and the last range queues the finish; ranges write their figures here concurrently, so every
  write locks the run row (``select_for_update``) for the read-modify-write.
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
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import get_valid_filename
from django.utils.timezone import now

from migrations_ops.copy import CopyOptions, CopySummary, RangeResult, RangeSpec, format_summary
from migrations_ops.copy.options import FTS_CONTENTFUL_MODES, IF_NOT_EMPTY, TEXT_POLICIES
from migrations_ops.copy.summary import format_rejects
from migrations_ops.errors import OpsError

from . import audit, dispatch, services
from .models import AuditEvent, Run, RunLog, Target
from .secrets import redact as redact_text

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
UPLOAD_DIR = "uploads"
# How often one range task writes its live figures (the final figures are always written).
PROGRESS_EVERY_SECONDS = 0.5
# Files listed in the "pick a file" choice of the copy form.
MAX_LISTED_FILES = 500
ENDED_FOR_RESUME = (Run.Status.FAILED, Run.Status.CANCELLED, Run.Status.INTERRUPTED)


# --- the source file ----------------------------------------------------------------


def import_dir() -> Path:
    """MOP_IMPORT_DIR, symlinks resolved (the root every source must stay under)."""
    return Path(settings.MOP_IMPORT_DIR).resolve()


def _refuse(message: str, code: str = "source_refused") -> ValidationError:
    return ValidationError(message, code=code)


def resolve_source(path: str) -> Path:
    """The SQLite file ``path`` names: relative to MOP_IMPORT_DIR, or absolute inside it.

    Symlinks are followed before the check, so a link inside the directory that
    points outside is refused like ``../x`` or ``/etc/x``. Reads the file system only.
    """
    raw = (path or "").strip()
    if not raw:
        raise _refuse("Choose a SQLite file: upload one, or pick one from the import directory", "no_source")
    if "\x00" in raw:
        raise _refuse("Refused: the path contains a NUL character")
    root = import_dir()
    given = Path(raw)
    real = (given if given.is_absolute() else root / given).resolve()
    if not real.is_relative_to(root):
        raise _refuse(
            f"Refused: {raw!r} is outside the import directory {root} (MOP_IMPORT_DIR). Only files inside it "
            "can be copied; upload the file or place it there."
        )
    if not real.is_file():
        raise _refuse(f"No SQLite file {raw!r} in the import directory {root}", "source_missing")
    return real


def check_readable(path: Path) -> None:
    """Refuse a source SQLite cannot open (empty, not SQLite, encrypted, truncated) before a run is recorded.

    Opens the file read-only and reads its schema (cheap, whatever the size); a
    broken data page further in is found by the pre-flight's integrity check or
    by the range that meets it, which fails the run naming the file.
    """
    engine = services._engine("copy.source")
    try:
        engine.open_source(path).close()
    except OpsError as exc:
        raise ValidationError(f"{exc}. {exc.explanation}", code=exc.code) from None


def relative_name(path: Path) -> str:
    """How a source is recorded: its path relative to MOP_IMPORT_DIR."""
    return str(path.relative_to(import_dir()))


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def list_import_files() -> list[dict[str, Any]]:
    """SQLite files under MOP_IMPORT_DIR (by their header), newest first; links pointing out are left out."""
    root = import_dir()
    if not root.is_dir():
        return []
    found = []
    for p in root.rglob("*"):
        try:
            real = p.resolve()
            if not real.is_relative_to(root) or not real.is_file() or not _is_sqlite(real):
                continue
            st = real.stat()
        except OSError:
            continue
        found.append({"name": str(p.relative_to(root)), "size": st.st_size, "mtime": st.st_mtime})
        if len(found) >= MAX_LISTED_FILES:
            break
    return sorted(found, key=lambda f: -f["mtime"])


def save_upload(uploaded) -> str:
    """Store an uploaded SQLite file under MOP_IMPORT_DIR/uploads; returns its relative name (writes a file).

    The name keeps only its last component (made safe) behind a timestamp and
    a random part, so an upload can neither escape the directory nor replace
    another file. A file that is not SQLite is refused and nothing is kept.
    """
    head = uploaded.read(len(SQLITE_MAGIC))
    uploaded.seek(0)
    if head != SQLITE_MAGIC:
        raise _refuse(f"Refused: {uploaded.name!r} is not a SQLite 3 database (its header does not match)",
                      "not_sqlite")
    try:
        base = get_valid_filename(Path(str(uploaded.name).replace("\\", "/")).name)
    except Exception:  # noqa: BLE001 - Django raises SuspiciousFileOperation for names like ".."
        base = "upload.sqlite"
    root = import_dir()
    folder = root / UPLOAD_DIR
    dest = (folder / f"{now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}-{base}").resolve()
    if not dest.is_relative_to(folder.resolve() if folder.exists() else root):
        raise _refuse(f"Refused: the upload name {uploaded.name!r} would leave the import directory")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with dest.open("xb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)  # a half-written upload is of no use to anyone
        raise
    return relative_name(dest)


def discard_upload(name: str | None) -> None:
    """Delete an upload the copy form rejected (writes the file system); anything outside uploads/ is kept.

    Only files ``save_upload`` created are removed: the name must resolve to a
    file directly in MOP_IMPORT_DIR/uploads, so a picked or typed path is never deleted.
    """
    if not name:
        return
    folder = (import_dir() / UPLOAD_DIR).resolve()
    path = (import_dir() / name).resolve()
    if path.parent == folder and path.is_file():
        path.unlink(missing_ok=True)
        log.info("rejected upload %s removed", name)


# --- options and pre-flight -----------------------------------------------------------


def parse_tables(value) -> list[str] | None:
    """Tables as typed (comma or space separated) or given as a list; None means every table.

    >>> parse_tables("users, transactions  credits"), parse_tables(""), parse_tables(["a"])
    (['users', 'transactions', 'credits'], None, ['a'])
    """
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).replace(",", " ").split()
    names = [str(t).strip() for t in items if str(t).strip()]
    return list(dict.fromkeys(names)) or None


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
    path = resolve_source(source)
    return services._engine("copy").preflight(path, target.conn(), tables or None, options=options)


def fts_choices(raw: dict[str, Any]) -> dict[str, Any]:
    """Tables skipped on purpose and the contentful-FTS choice; raises ValidationError on bad input."""
    mode = raw.get("fts_contentful") or "copy"
    if mode not in FTS_CONTENTFUL_MODES:
        raise ValidationError(f"fts_contentful must be one of {', '.join(FTS_CONTENTFUL_MODES)}, not {mode!r}")
    regconfig = str(raw.get("fts_regconfig") or "simple").strip()
    if not regconfig.replace("_", "").replace(".", "").isalnum():
        raise ValidationError(f"fts_regconfig must be a text search configuration name, not {regconfig!r}")
    return {"skip_tables": tuple(parse_tables(raw.get("skip_tables")) or ()), "fts_contentful": mode,
            "fts_regconfig": regconfig}


def skipped_definitions(run: Run) -> str:
    """The .sql file of what the copy run left behind: SQLite CREATE statements and suggested DDL (reads the file)."""
    from migrations_ops.copy import skipped

    objects = [skipped.SkippedObject.from_dict(d) for d in ((run.progress_data or {}).get("summary") or {}).get(
        "skipped") or []]
    if not objects:
        objects = list(not_copied(resolve_source(run.params["source"]), CopyOptions.from_dict(run.params["options"])))
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
        services.require(user, "ops.schedule_run")
    path = resolve_source(source)
    check_readable(path)
    if not target.is_active:
        raise ValidationError(f"Target {target.name} is inactive; activate it before copying into it")
    tables = parse_tables(tables)
    opts = copy_options(options, tables)
    _check_truncate_confirmation(target, opts, confirm_name)
    services._check_confirmation(target, Run.Operation.COPY, confirm_name)
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
    who = services._actor(user, actor)
    params = {
        "copy_id": copy_id, "source": relative_name(path), "source_size": path.stat().st_size,
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
        dispatch.enqueue_on_commit(run, _enqueue)
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


def _enqueue(run: Run) -> None:
    from .copy_tasks import copy_run

    copy_run.apply_async((run.pk,), task_id=run.celery_task_id, retry=True, retry_policy=dispatch.RETRY_POLICY)


def mark_never_opened(run: Run) -> None:
    """Note on the run that its copy never reached the target: its own planning failed and rolled back
    (a schema mismatch, an unreadable file, another copy open), so there is nothing to resume or abandon
    and it must not block the next copy (writes the DB)."""
    Run.objects.filter(pk=run.pk).update(params={**run.params, "never_opened": True})
    run.params = {**run.params, "never_opened": True}


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
        services.require(user, "ops.schedule_run")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the copy is abandoned: the reason is required and kept in the audit trail.",
                              code="reason_required")
    if not can_abandon(run):
        raise ValidationError(
            f"Run #{run.pk} cannot be abandoned: only a failed, cancelled or interrupted copy that no later run "
            "finished or is running, and that was not abandoned already, can be.", code="not_abandonable")
    engine = services._engine("copy")
    who = services._actor(user, actor)
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
        log_line(run.pk, f"Copy {copy_id} abandoned by {who}: {reason}", "warning", secret)
        if report is None:
            log_line(run.pk, f"The target holds no state of copy {copy_id} (it stopped before planning): "
                             "nothing to restore", secret=secret)
        else:
            log_line(run.pk, f"Was {report.previous_status}: {report.ranges_committed} range(s) committed, "
                             f"{report.rows_loaded} row(s) loaded (they stay), {report.rows_rejected} rejected",
                     secret=secret)
            log_line(run.pk, "Restored: " + (", ".join(report.restored) or "nothing was dropped"), secret=secret)
            if report.foreign_keys_not_valid:
                log_line(run.pk, "Foreign keys back NOT VALID (validate them once the data is complete): "
                         + ", ".join(report.foreign_keys_not_valid), "warning", secret)
            for kind, table, name, error in report.failed:
                log_line(run.pk, f"Not restored {kind} {table}.{name}: {error} (still saved; abandon again to retry)",
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
        services.require(user, "ops.schedule_run")
    if not can_resume(run):
        raise ValidationError(
            f"Run #{run.pk} cannot be resumed: only a failed, cancelled or interrupted copy that no later "
            "run finished or is running can be.", code="not_resumable")
    return schedule_copy(
        target=run.target, source=run.params["source"], tables=run.params.get("tables"),
        options=run.params.get("options"), user=user, actor=actor, confirm_name=confirm_name, resume_of=run,
    )


# --- the worker's side: plan, ranges, finish ---------------------------------------------


def engine_args(run: Run) -> tuple[Path, CopyOptions]:
    """The source path (checked again on the worker) and options of a copy run."""
    return resolve_source(run.params["source"]), CopyOptions.from_dict(run.params["options"])


def log_line(run_id: int, message: str, level: str = "info", secret: str = "") -> None:
    RunLog.objects.create(run_id=run_id, level=level, message=redact_text(message, secret))


def start_copy_phase(run: Run, specs: list[RangeSpec]) -> None:
    """Record the plan: per table rows and ranges, the step counts (writes the DB)."""
    tables: dict[str, dict[str, Any]] = {}
    for s in specs:
        t = tables.setdefault(s.table, {"total": 0, "ranges": 0, "ranges_done": 0, "done": 0, "copied": 0,
                                        "rejected": 0, "bytes": 0, "t0": None, "t1": None})
        t["total"] += s.est_rows
        t["ranges"] += 1
    with transaction.atomic():
        r = Run.objects.select_for_update().get(pk=run.pk)
        pd = dict(r.progress_data or {})
        pd.update(phase="copy", started=time.time(), tables=tables, ranges={})
        Run.objects.filter(pk=run.pk).update(progress_data=pd, steps_total=len(specs) + 1, steps_done=0,
                                             current_step="copy", heartbeat_at=now())


def range_should_run(run_id: int) -> bool:
    """False once the run ended, failed elsewhere or was asked to cancel (reads the DB)."""
    return Run.objects.filter(pk=run_id, status=Run.Status.RUNNING, cancel_requested_at__isnull=True).exists()


def record_range_figures(run_id: int, table: str, lo: int, *, done: int, copied: int, rejected: int,
                         nbytes: int, finished: bool = False, seconds: float | None = None) -> bool:
    """Write one range's figures and recompute its table's; returns True if the range just finished (writes the DB).

    Ranges run in parallel tasks: the run row is locked for the read-modify-write.
    """
    key = f"{table}|{lo}"
    at = time.time()
    with transaction.atomic():
        r = Run.objects.select_for_update().only("progress_data", "steps_done").get(pk=run_id)
        pd = r.progress_data or {}
        ranges = pd.setdefault("ranges", {})
        before = ranges.get(key) or {}
        if before.get("finished") and not finished:
            return False
        newly = finished and not before.get("finished")
        ranges[key] = {"done": done, "copied": copied, "rejected": rejected, "bytes": nbytes, "finished": finished,
                       "t0": before.get("t0") or (at - seconds if seconds else at)}
        t = pd.setdefault("tables", {}).setdefault(table, {"total": 0, "ranges": 1, "t0": None})
        mine = [v for k, v in ranges.items() if k.split("|", 1)[0] == table]
        t.update(done=sum(v["done"] for v in mine), copied=sum(v["copied"] for v in mine),
                 rejected=sum(v["rejected"] for v in mine), bytes=sum(v["bytes"] for v in mine),
                 ranges_done=sum(1 for v in mine if v["finished"]), t1=at)
        t["t0"] = min([v["t0"] for v in mine] + ([t["t0"]] if t.get("t0") else []))
        Run.objects.filter(pk=run_id).update(
            progress_data=pd, heartbeat_at=now(), steps_done=r.steps_done + (1 if newly else 0),
        )
    return newly


class RangeReporter:
    """The ``progress`` and ``should_cancel`` callbacks of one range task."""

    CANCEL_POLL_SECONDS = 0.5

    def __init__(self, run_id: int, spec: RangeSpec) -> None:
        self.run_id, self.spec = run_id, spec
        self._last = self._checked = 0.0
        self._cancel = False

    def progress(self, p) -> None:
        if time.monotonic() - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = time.monotonic()
        d = p.data or {}
        rate = float(d.get("rows_per_s") or 0)
        nbytes = int(float(d.get("mb_per_s") or 0) * 1e6 * p.done / rate) if rate else 0
        record_range_figures(self.run_id, self.spec.table, self.spec.lo, done=p.done, copied=int(d.get("copied", 0)),
                             rejected=int(d.get("rejected", 0)), nbytes=nbytes)

    def should_cancel(self) -> bool:
        if not self._cancel and time.monotonic() - self._checked >= self.CANCEL_POLL_SECONDS:
            self._checked = time.monotonic()
            self._cancel = not range_should_run(self.run_id)
        return self._cancel


def record_range_done(run_id: int, result: RangeResult, secret: str = "", worker: str = "") -> None:
    """Final figures of a committed (or already committed) range, and a log line (writes the DB)."""
    record_range_figures(run_id, result.table, result.lo, done=result.rows_read, copied=result.rows_copied,
                         rejected=result.rows_rejected, nbytes=result.bytes, finished=True, seconds=result.seconds)
    what = "already committed earlier, skipped" if result.skipped else (
        f"{result.rows_copied} copied, {result.rows_rejected} rejected in {result.seconds:.2f} s")
    on = f" (worker {worker})" if worker else ""
    log_line(run_id, f"{result.table} rows {result.lo}..{result.hi}: {what}{on}", secret=secret)


def record_failure(run: Run, error: BaseException, secret: str = "") -> str | None:
    """End the run FAILED (or CANCELLED) unless another task ended it first; audit it (writes the DB)."""
    status, fields = services._outcome_fields(run, None, error, secret)
    if getattr(error, "code", "") == "cancelled":  # the verifier's VerifyCancelled too
        status = Run.Status.CANCELLED
    with transaction.atomic():
        ended = Run.objects.filter(pk=run.pk, status__in=[Run.Status.RUNNING, Run.Status.QUEUED]).update(
            status=status, finished_at=now(), current_step="", **fields)
        if not ended:
            return None
        run.refresh_from_db()
        pd = {**(run.progress_data or {}), "phase": status}
        Run.objects.filter(pk=run.pk).update(progress_data=pd)
        log_line(run.pk, f"{run.get_operation_display()} {status}: {fields.get('error', '')}", "error", secret)
        audit.record(
            actor=run.actor, actor_kind=services._run_actor_kind(run), action="run.finished", target=run.target,
            run=run, operation=run.operation, outcome=status, error=run.error,
            params={"copy_id": run.params.get("copy_id"), "worker": run.worker},
        )
    log.warning("%s run %s %s: %s", run.operation, run.pk, status, fields.get("error", ""), extra={"run_id": run.pk})
    return status


def record_succeeded(run: Run, summary: CopySummary) -> Run | None:
    """End a copy whose post-load phases ran, by its verdict; audit it; queue the verification (writes the DB).

    Steps: 1 the phases from the run's time stamps (they add up to its wall
    time); 2 the verdict (``copy_outcome.verdict``): SUCCEEDED, SUCCEEDED_REJECTS
    or FAILED (nothing imported); 3 write it with the summary, a log line and
    the audit event; 4 unless it failed, queue the verification. Returns the
    verification run, if one was queued.
    """
    from . import copy_outcome, verifying

    with transaction.atomic():
        r = Run.objects.select_for_update().get(pk=run.pk)
        if r.status != Run.Status.RUNNING:
            return None
        end, finished_at = copy_outcome.now_pair()
        summary = copy_outcome.wall_time_summary(r, summary, end)
        status, fields = copy_outcome.verdict(r, summary)
        data = summary.to_dict()
        outcome_message = summary.outcome[1]
        pd = {**(r.progress_data or {}), "phase": "done" if status != Run.Status.FAILED else status, "summary": data,
              "summary_text": format_summary(summary), "outcome": outcome_message,
              "rejects_text": format_rejects(summary)}
        Run.objects.filter(pk=run.pk).update(
            status=status, finished_at=finished_at, current_step="", steps_done=r.steps_total,
            progress_data=pd, params={**r.params, "copy_finished": True}, **fields)
        run.refresh_from_db()
        level = {Run.Status.SUCCEEDED: "info", Run.Status.SUCCEEDED_REJECTS: "warning"}.get(status, "error")
        log_line(run.pk, f"Copy {status}: {outcome_message}\n" + pd["summary_text"] + "\n" + pd["rejects_text"], level)
        audit.record(
            actor=run.actor, actor_kind=services._run_actor_kind(run), action="run.finished", target=run.target,
            run=run, operation=run.operation, outcome=status, error=fields.get("error", ""),
            params={"copy_id": data["copy_id"], "rows_read": summary.rows_read, "rows_imported": summary.rows_imported,
                    "rows_rejected": summary.rows_rejected, "rejects_by_reason": copy_outcome.rejects_by_reason(data),
                    "tables": [t.table for t in summary.tables],
                    "rows_not_copied": summary.rows_not_copied,
                    "not_copied": [f"{o.kind}:{o.name}" for o in summary.skipped if o.kind not in ("shadow table",)],
                    "seconds": round(summary.total_seconds, 3), "worker": run.worker},
        )
        if status == Run.Status.FAILED:
            return None
        check = verifying.schedule_verify(
            target=run.target, source=run.params["source"], tables=run.params.get("tables"), actor=run.actor,
            actor_kind=services._run_actor_kind(run), after_copy=run,
        )
        Run.objects.filter(pk=run.pk).update(progress_data={**pd, "verify_run_id": check.pk})
        log_line(run.pk, f"Verification run #{check.pk} queued")
    return check


def record_truncated(run: Run, counts: dict[str, int]) -> None:
    """Audit the target tables the copy's planning emptied, with the rows each held (writes the DB).

    Called once the planning transaction committed (the engine reports it
    then), so the audit never names a truncate that rolled back.
    """
    Run.objects.filter(pk=run.pk).update(params={**run.params, "truncated": counts})
    run.params = {**run.params, "truncated": counts}
    audit.record(
        actor=run.actor, actor_kind=services._run_actor_kind(run), action="run.copy_truncated", target=run.target,
        run=run, operation=Run.Operation.COPY, outcome="truncated",
        params={"copy_id": run.params.get("copy_id"), "tables": counts, "rows_removed": sum(counts.values())},
    )


def mark_finish_started(run_id: int) -> None:
    """Note when the post-load phases began (the summary's phases are measured from it; writes the DB)."""
    with transaction.atomic():
        r = Run.objects.select_for_update().only("progress_data").get(pk=run_id)
        Run.objects.filter(pk=run_id).update(progress_data={**(r.progress_data or {}), "finish_started": time.time()})


def record_started(run: Run) -> None:
    """Audit that a worker started the copy (or verification) run (writes the DB)."""
    audit.record(
        actor=run.actor, actor_kind=services._run_actor_kind(run), action="run.started", target=run.target,
        run=run, operation=run.operation,
        params={"worker": run.worker or "", **({"copy_id": run.params["copy_id"]} if "copy_id" in run.params else {})},
    )


# --- what pages show ------------------------------------------------------------------------


def _rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def live_figures(run: Run, at: float | None = None) -> dict[str, Any]:
    """Per table and overall: rows done / total, percent, rows/s, MB/s, ETA (pure; from run.progress_data)."""
    pd = run.progress_data or {}
    at = at or time.time()
    active = run.is_active
    rows = []
    for name, t in (pd.get("tables") or {}).items():
        total, done = int(t.get("total") or 0), int(t.get("done") or 0)
        finished = t.get("ranges_done", 0) >= t.get("ranges", 1) and t.get("ranges")
        t0 = t.get("t0")
        span = ((t.get("t1") or at) if (finished or not active) else at) - t0 if t0 else 0.0
        rps = _rate(done, span)
        state = "done" if finished else ("running" if t0 else "waiting")
        rows.append({
            "table": name, "done": done, "total": max(total, done), "copied": int(t.get("copied") or 0),
            "rejected": int(t.get("rejected") or 0), "ranges": t.get("ranges", 0), "ranges_done": t.get("ranges_done", 0),
            "percent": 100 if finished else (min(99, int(100 * done / total)) if total else 0),
            "rows_per_s": round(rps), "mb_per_s": round(_rate(int(t.get("bytes") or 0), span) / 1e6, 2),
            "eta_s": round((total - done) / rps) if rps and not finished and total > done else None,
            "state": state if active or finished else "stopped",
        })
    total = sum(r["total"] for r in rows)
    done = sum(r["done"] for r in rows)
    started = pd.get("started")
    last = max([t.get("t1") or 0 for t in (pd.get("tables") or {}).values()] or [0])
    span = ((at if active else last or at) - started) if started else 0.0
    rps = _rate(done, span)
    all_done = bool(rows) and all(r["state"] == "done" for r in rows)
    return {
        "copy_id": pd.get("copy_id"), "phase": pd.get("phase", ""), "tables": rows,
        "overall": {
            "done": done, "total": total, "percent": 100 if all_done else (min(99, int(100 * done / total)) if total else 0),
            "rows_per_s": round(rps), "mb_per_s": round(_rate(sum(int(t.get("bytes") or 0) for t in (pd.get("tables") or {}).values()), span) / 1e6, 2),
            "eta_s": round((total - done) / rps) if rps and active and total > done else None,
        },
        "summary": pd.get("summary"), "summary_text": pd.get("summary_text", ""),
        "verify_run_id": pd.get("verify_run_id"),
    }


def rejects(run: Run, table: str | None = None, limit: int | None = 500):
    """The copy's rejected rows and replacement warnings, read from the target (connects to it)."""
    return services._engine("copy").list_rejects(run.target.conn(), run.params["copy_id"], table or None, limit)


def rejects_csv_rows(run: Run, table: str | None = None):
    """CSV lines of every reject of the copy (or of one table), header first (connects to the target)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["source_table", "target_table", "key", "column", "value_hex", "reason", "created_at"])
    yield buf.getvalue()
    names = target_table_names(run)
    for r in rejects(run, table, limit=None):
        buf.seek(0)
        buf.truncate()
        w.writerow([r.table, names.get(r.table, ""), r.key, r.column or "", r.value_hex, r.reason, r.created_at])
        yield buf.getvalue()


def target_table_names(run: Run) -> dict[str, str]:
    """Source table -> target table of a copy run, as the one name rule paired them (summary, else plan)."""
    summary = (run.progress_data or {}).get("summary") or {}
    pairs = summary.get("mapping") or ((run.params or {}).get("preflight") or {}).get("mapping") or []
    return {str(src): str(tgt) for src, tgt in pairs if tgt}


def preflight_summary(report) -> dict[str, Any]:
    """What the run keeps of the pre-flight the DBA confirmed (JSON)."""
    return json.loads(json.dumps({
        "integrity_ok": report.integrity_ok, "problems": list(report.problems)[:50],
        "rows": {t.name: t.rows for t in report.tables}, "skipped": [list(s) for s in report.skipped],
        "orphans": len(report.fk_orphans), "non_empty_tables": [list(t) for t in report.non_empty_tables],
        "predicted_rejects": [[p.table, p.column, p.code, p.values] for t in report.tables if t.predicted
                              for p in t.predicted.rejects][:200],
        "mapping": [list(m) for m in report.mapping], "not_copied": [o.to_dict() for o in report.not_copied],
    }, default=str))

