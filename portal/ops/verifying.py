"""Verification runs and their stored reports.

A verification is a ``Run`` (operation VERIFY) that the worker turns into
one ``migrations_ops.verify.verify()`` call; the report it returns is stored
as a ``VerificationReport``. With a SQLite source it compares both sides;
without one it checks the target alone (orphans, NULLs, sequences, hygiene),
which is what follows an upgrade. Every copy run queues one when it finishes.
A verification only reads the target, so it does not take the target lock and
may run beside other work; a report names what it saw at that moment.

The run's status is the report's verdict: a ``fail`` report ends the
run FAILED (the report stays stored and linked); ``pass`` and ``warn`` (e.g.
rows missing only because the copy rejected them, each named) end it SUCCEEDED.
Rejects come from the copy the run follows (``after_copy``), else from an
explicit ``copy_id``, else from the latest copy of that source into the target.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now

from migrations_ops import verify as engine

from . import audit, copy_sources, dispatch, lifecycle, permissions
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
    copy_id: str | None = None,
    samples: int | None = None,
    integrity: str | None = None,
) -> Run:
    """Record a verification run and queue it (writes the DB).

    :param source: SQLite file inside MOP_IMPORT_DIR; None for target-only mode.
    :param after_copy: the copy run this one follows (its tables and source; its rejects explain missing rows).
    :param copy_id: the copy whose rejects explain missing rows (default: the one of ``after_copy``, else the
        latest copy of ``source`` into this target).
    :param samples: keep up to this many located keys per finding (default 10; ``ops verify --show N``).
    :param integrity: the source's integrity check, ``quick`` (the engine's default) or ``full`` (``--integrity``).
    """
    if integrity not in (None, "quick", "full"):
        raise ValidationError("The integrity check must be quick or full")
    if user is not None:
        permissions.require(user, "ops.schedule_run")
    path = copy_sources.resolve_source(source) if source else None
    if path is not None:
        copy_sources.check_readable(path)
    rel = copy_sources.relative_name(path) if path is not None else None
    if not target.is_active:
        raise ValidationError(f"Target {target.name} is inactive; activate it before verifying it")
    tables = copy_sources.parse_tables(tables)
    who = permissions.actor_name(user, actor)
    if samples is not None and not 1 <= samples <= 1000:
        raise ValidationError("The number of keys to show must be 1 to 1000")
    if copy_id is not None and not rel:
        raise ValidationError("A copy's rejects only explain differences from a source: give the SQLite file too")
    params: dict[str, Any] = {
        "source": rel, "tables": tables, "mode": "source" if rel else "target-only",
        **({"after_copy": after_copy.pk} if after_copy is not None else {}),
        **({"copy_id": copy_id} if copy_id else {}),
        **({"samples": samples} if samples else {}),
        **({"integrity": integrity} if integrity else {}),
    }
    with transaction.atomic():
        run = Run.objects.create(
            target=target, operation=Run.Operation.VERIFY, revision="", actor=who, params=params,
            requested_by=user if user is not None and user.pk else None, celery_task_id=str(uuid.uuid4()),
        )
        audit.record(actor=who, actor_kind=actor_kind, action="run.scheduled", target=target, run=run,
                     operation=Run.Operation.VERIFY, params=audit.clean_params(params))
        dispatch.enqueue_on_commit(run)
    dispatch.raise_if_undispatched(run)
    return run


def engine_args(run: Run) -> dict[str, Any]:
    """Arguments of ``verify()`` for this run (the source path is checked again on the worker)."""
    src = run.params.get("source")
    return {
        "sqlite_path": copy_sources.resolve_source(src) if src else None,
        "tables": run.params.get("tables") or None,
        "options": engine.VerifyOptions(statement_timeout_ms=run.target.statement_timeout_ms,
                                        copy_id=rejects_copy_id(run),
                                        integrity_check=run.params.get("integrity") or "quick",
                                        sample_size=max(engine.VerifyOptions().sample_size, run.params.get("samples") or 0)),
    }


def copy_run_of(target: Target, run_id: Any) -> Run | None:
    """The copy run (by portal run id) whose rejects a verification of ``target`` should link; None for none.

    Admin and CLI both take it (``ops verify --copy-run N``); a run that is
    not a copy of this target is refused with a clear message.
    """
    if run_id in (None, ""):
        return None
    try:
        pk = int(run_id)
    except (TypeError, ValueError):
        raise ValidationError(f"The copy run must be a run number, not {run_id!r}") from None
    run = Run.objects.filter(pk=pk).select_related("target").first() if 0 < pk < 2**63 else None
    if run is None:
        raise ValidationError(f"There is no run #{pk}")
    if run.operation != Run.Operation.COPY:
        raise ValidationError(f"Run #{pk} is not a copy run (operation: {run.operation}): it has no rejects")
    if run.target_id != target.pk:
        raise ValidationError(f"Run #{pk} is a copy into {run.target.name}, not into {target.name}: its rejects "
                              "cannot explain this target")
    if not (run.params or {}).get("copy_id"):
        raise ValidationError(f"Copy run #{pk} never started a copy (no copy id): it has no rejects to link")
    return run


def copy_run_choices(target: Target, limit: int = 50) -> list[tuple[str, str]]:
    """The copy runs of ``target`` a verification can link, newest first, for the admin's choice."""
    runs = Run.objects.filter(target=target, operation=Run.Operation.COPY).order_by("-pk")[:limit]
    return [(str(r.pk), f"#{r.pk}: copy id {r.params.get('copy_id')}, {r.params.get('source') or '?'} "
                        f"({r.get_status_display()}, {r.created_at:%Y-%m-%d %H:%M})")
            for r in runs if (r.params or {}).get("copy_id")]


def rejects_copy_id(run: Run) -> str | None:
    """Which copy's rejects explain missing rows: the explicit one, else the copy run this one follows; None
    lets the engine take the latest copy of the source into the target (reads the DB)."""
    if run.params.get("copy_id"):
        return run.params["copy_id"]
    copy = Run.objects.filter(pk=run.params.get("after_copy")).first() if run.params.get("after_copy") else None
    return (copy.params or {}).get("copy_id") if copy is not None else None


def record_report(run: Run, report) -> VerificationReport:
    """Store the report, end the run as its verdict says and audit it (writes the DB).

    A ``fail`` report ends the run FAILED with the report linked (``progress_data.report_id``):
    a verification that found unexplained differences is not a green run.
    """
    source = report.header.source
    data = report.to_dict()
    with transaction.atomic():
        vr = VerificationReport.objects.create(
            run=run, target=run.target, status=report.status, mode=report.header.mode, report=data,
            copy_run_id=run.params.get("after_copy"), source_path=run.params.get("source") or "",
            source_sha256=source.sha256 if source else "", source_size=source.size if source else None,
        )
        counts = {s: sum(1 for t in report.tables if t.status == s) for s in ("pass", "warn", "fail")}
        failed = vr.status == VerificationReport.Status.FAIL
        outcome = Run.Status.FAILED if failed else Run.Status.SUCCEEDED
        verdict = _failure_fields(vr, report, counts) if failed else {}
        Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
            status=outcome, finished_at=now(), current_step="", **verdict,
            progress_data={**(run.progress_data or {}), "report_id": vr.pk, "report_status": vr.status,
                           "tables": counts})
        run.refresh_from_db()
        lifecycle.log_line(run.pk, f"Report #{vr.pk}: {vr.status} ({counts['pass']} pass, {counts['warn']} warn, "
                                 f"{counts['fail']} fail)", "info" if vr.status == "pass" else "warning")
        audit.record(
            actor=run.actor, actor_kind=lifecycle.run_actor_kind(run), action="run.finished", target=run.target,
            run=run, operation=run.operation, outcome=outcome, error=verdict.get("error", ""),
            params={"report": vr.pk, "status": vr.status, "mode": vr.mode, "source_sha256": vr.source_sha256,
                    "tables": counts, "worker": run.worker},
        )
    return vr


def _failure_fields(vr: VerificationReport, report, counts: dict[str, int]) -> dict[str, Any]:
    """The run's error fields for a failing report: which tables failed, and where to read why."""
    failing = [t.name for t in report.tables if t.status == "fail"]
    names = ", ".join(failing[:5]) + (f" and {len(failing) - 5} more" if len(failing) > 5 else "")
    return {
        "error": f"Verification report #{vr.pk}: fail ({counts['fail']} table(s) fail: {names})" if failing
        else f"Verification report #{vr.pk}: fail (database-level findings)",
        "error_code": "verification_failed",
        "error_explanation": "The report found differences or problems that nothing explains (rows the copy "
                             "rejected are shown apart, as warnings). The report lists each table's findings, "
                             "with the located keys and columns.",
    }


def report_of(vr: VerificationReport):
    """The engine's ``Report`` rebuilt from the stored JSON."""
    return engine.Report.from_dict(vr.report)


def compare(old: VerificationReport, new: VerificationReport):
    """What changed between two reports of the same target (``compare_reports``)."""
    if old.target_id != new.target_id:
        raise ValidationError("Only reports of the same target can be compared")
    if old.created_at > new.created_at:
        old, new = new, old
    return old, new, engine.compare_reports(report_of(old), report_of(new))


def report_lines(report: dict[str, Any], show: int = 10) -> list[str]:
    """The report as text lines for ``ops verify --wait``: per table its verdict, source -> target names,
    and every finding that is not a pass, with up to ``show`` located keys (and differing columns) each."""
    lines = [f"  {f['status']:<5} {f['message']}" for f in report.get("findings", ()) if f["check"] == "rejects"
             or f["status"] != "pass"]
    for t in report["tables"]:
        src = t.get("source_name")
        names = f"{src} -> {t['name']}" if src and src != t["name"] else t["name"]
        rows = "" if t["source_rows"] is None and t["target_rows"] is None else \
            f"  ({_n(t['source_rows'])} -> {_n(t['target_rows'])} rows)"
        lines.append(f"  {t['status']:<5} {names}{rows}")
        for f in t["findings"]:
            if f["status"] == "pass":
                continue
            lines.append(f"        {f['check']}: {f['message']}")
            samples = list(f.get("samples") or ())[:show]
            if f["check"] in ("missing", "extra", "changed", "explained") and samples:
                lines += [f"          {_sample_text(s)}" for s in samples]
                more = (f.get("figures") or {}).get("rows", len(samples)) - len(samples)
                if more > 0:
                    lines.append(f"          ... {more} more")
    return lines


def _n(v: int | None) -> str:
    return "-" if v is None else str(v)


def _sample_text(s: Any) -> str:
    """One located row: its key, and the columns that differ, the reject reason or the row's values."""
    if not isinstance(s, dict):
        return f"key {_key_text(s)}"
    if "row" in s:
        values = ", ".join(f"{c}={v}" for c, v in s["row"].items())
        return (f"rowid {s['rowid']}: " if "rowid" in s else "row: ") + values
    if "columns" in s:
        return f"key {_key_text(s['key'])}: {', '.join(s['columns'])}"
    if "reason" in s:
        return f"key {_key_text(s['key'])}: {s['reason']}"
    return f"key {_key_text(s.get('key', s))}"


def _key_text(key: Any) -> str:
    """A key as ``ops rejects`` prints it (``O1, 1`` for a composite one), so the two can be matched by eye.

    >>> _key_text(["O1", 1]), _key_text(7), _key_text("rowid:3")
    ('O1, 1', '7', 'rowid:3')
    """
    return ", ".join(str(v) for v in key) if isinstance(key, list | tuple) else str(key)
