"""``manage.py ops copy``, ``ops copy-abandon`` and ``ops verify``: small functions over ``copying`` / ``verifying``.

Same contract as ``cli.py``: print to ``command.stdout``, raise
``ValidationError`` / ``PermissionDenied`` / ``OpsError`` for a one-line
message and exit code 2. JSON shapes: docs/cli.md.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from migrations_ops.copy.skipped import format_skipped

from .. import copy_figures, copy_sources, copying
from ..models import Run, VerificationReport
from .common import EXIT_FAILED, acting_user, check_view, dump_json, exit_for, run_json, target_named, wait
from .ending import outcome_text
from .handover import hand_over

COPY_OPTION_KEYS = ("text_policy", "max_rejects", "create_missing_tables", "drop_secondary_indexes",
                    "defer_constraints", "accept_float4_rounding", "if_not_empty", "skip_tables",
                    "fts_contentful", "fts_regconfig", "defer_source_keys")


def _preflight_text(command, report) -> None:
    out = command.stdout.write
    out(f"Pre-flight of {report.sqlite_path} into {report.target}")
    out(f"integrity_check: {'ok' if report.integrity_ok else '; '.join(report.integrity[:5])}")
    for t in report.tables:
        where = t.target_table or "MISSING in the target"
        nulls = ", ".join(f"{c}: {n} NULL" for c, n in t.nulls_in_not_null.items())
        held = f" (holds {t.target_rows:,} rows)" if getattr(t, "target_rows", None) else ""
        out(f"  {t.name:<28} {t.rows:>10} rows -> {where}{held}{'  (' + nulls + ')' if nulls else ''}")
    for obj in report.not_copied:
        out(f"  {format_skipped([obj])[0]}")
        for ddl in obj.postgres_ddl:  # "(DDL given)": given here, not only in --json and the .sql download
            out(f"      {' '.join(ddl.split()).rstrip(';')};")
    for name, ddl in report.fts_tables:
        out(f"  fts {name}: copied into a table with a tsvector column and GIN index (created when missing): "
            + " ".join(" ".join(ddl).split()))
    _created_text(out, report)
    for o in report.fk_orphans:
        out(f"  orphans: {o['orphans']} row(s) of {o['table']} reference missing {o['parent']} rows")
    _predicted_text(out, report)
    for p in report.problems:
        out(f"problem: {p}")
    if not report.problems:
        out("No problem found.")


def _predicted_text(out, report) -> None:
    """Predicted rejects and warnings, one line per table, column and reason, with an example."""
    lines = [(t, p, "reject") for t in report.tables if t.predicted for p in t.predicted.rejects]
    lines += [(t, p, "warning") for t in report.tables if t.predicted for p in t.predicted.warnings]
    if not lines:
        out("predicted rejects: none")
        return
    out("predicted rejects:")
    for t, p, kind in lines:
        out(f"  {kind} {t.name}.{p.column}: {p.values} value(s) {p.code}, e.g. {p.example_key}: {p.example_reason}")
    for t in report.tables:
        if t.predicted and t.predicted.rows_rejected:
            out(f"  {t.name}: {t.predicted.rows_rejected} row(s) will be rejected")


def _created_text(out, report) -> None:
    """Tables missing in the target as --create-missing-tables builds them: type mapping, then keys and indexes."""
    for plan in report.created:
        out(f"  create {plan.table}:")
        for line in [*plan.column_lines(), *plan.objects]:
            out(f"    {line}")
        for what, why in plan.skipped:
            out(f"    skipped {what}: {why}")


def _copy_choices(options) -> dict[str, Any]:
    """The choices of ``ops copy`` about what it leaves behind: tables skipped on purpose, and what to do with contentful FTS tables."""
    return {k: options.get(k) for k in ("skip_tables", "fts_contentful", "fts_regconfig") if options.get(k)}


def copy_json(run: Run) -> dict[str, Any]:
    figures = copy_figures.live_figures(run)
    return {**run_json(run), "copy_id": run.params.get("copy_id"), "source": run.params.get("source"),
            "tables": figures["tables"], "summary": figures["summary"], "verify_run": figures["verify_run_id"],
            "outcome": (run.progress_data or {}).get("outcome")}


def cmd_copy(command, options) -> None:
    target = target_named(options["target"])
    tables = copy_sources.parse_tables(options.get("tables"))
    if options.get("preflight_only"):
        check_view(acting_user(options, required=False, what="copy --preflight-only"), "ops.view_target")
        report = copying.preflight(target, options["sqlite"], tables, copying.copy_options(
            {k: options.get(k) for k in COPY_OPTION_KEYS}, tables))
        if options.get("json"):
            return dump_json(command, report.to_dict())
        _preflight_text(command, report)
        return
    user = acting_user(options, required=True, what="copy")
    run = copying.schedule_copy(
        target=target, source=options["sqlite"], tables=tables, user=user, confirm_name=options.get("confirm"),
        options={k: options.get(k) for k in COPY_OPTION_KEYS},
    )
    if not options.get("json"):
        command.stdout.write(f"Scheduled copy run #{run.pk}: {run.params['source']} into {target.name}, "
                             f"copy id {run.params['copy_id']}")
    if options.get("wait"):
        if not options.get("json"):  # the rest of this process's work is waiting: done by a small one
            hand_over(command, run, timeout=options.get("timeout"), outcome_line=True)
        run = wait(command, run, timeout=options.get("timeout"), quiet=options.get("json"))
        # The summary and the rejects by reason came with the run's last log line, printed above.
        if not options.get("json") and run.progress_data.get("summary_text"):
            command.stdout.write(outcome_text(run.get_status_display(), run.progress_data.get("outcome", "")))
    if options.get("json"):
        dump_json(command, copy_json(run))
    if options.get("wait"):
        exit_for(run)


def cmd_copy_abandon(command, options) -> None:
    """Abandon a stopped copy run: the engine rebuilds what it dropped; a new copy can then start."""
    user = acting_user(options, required=True, what="copy-abandon")
    run = Run.objects.select_related("target").filter(pk=options["run_id"], operation=Run.Operation.COPY).first()
    if run is None:
        raise ValidationError(f"No copy run #{options['run_id']}")
    report = copying.abandon_copy_run(run, user=user, reason=options["reason"])
    data = run.params["abandoned"]["report"]
    if options.get("json"):
        return dump_json(command, {"run": run.pk, "copy_id": run.params["copy_id"], **data})
    out = command.stdout.write
    out(f"Copy {run.params['copy_id']} of run #{run.pk} abandoned"
        + ("" if report is not None else " (the target held no state of it: nothing to restore)"))
    out(f"  was {data['previous_status']}: {data['ranges_committed']} range(s) committed, {data['rows_loaded']} row(s) "
        f"loaded (they stay), {data['rows_rejected']} rejected")
    for name in data["restored"]:
        out(f"  restored {name}")
    for name in data["foreign_keys_not_valid"]:
        out(f"  foreign key {name} NOT VALID")
    for kind, table, name, error in data["failed"]:
        out(f"  NOT restored {kind} {table}.{name}: {error}")
    if data["failed"]:
        raise CommandError(f"{len(data['failed'])} definition(s) not restored; run copy-abandon again to retry",
                           returncode=EXIT_FAILED)


def cmd_verify(command, options) -> None:
    from .. import verifying  # noqa: PLC0415 - the verification engine, for this command only

    target = target_named(options["target"])
    user = acting_user(options, required=True, what="verify")
    run = verifying.schedule_verify(target=target, source=options.get("sqlite"), tables=options.get("tables"),
                                    user=user, copy_id=options.get("copy_id"),
                                    after_copy=verifying.copy_run_of(target, options.get("copy_run")),
                                    samples=options.get("show") if options.get("wait") else None,
                                    integrity=options.get("integrity"))
    if not options.get("wait"):
        if options.get("json"):
            return dump_json(command, run_json(run))
        command.stdout.write(f"Scheduled verification run #{run.pk} of {target.name} ({run.params['mode']})")
        return
    run = wait(command, run, timeout=options.get("timeout"), quiet=bool(options.get("json")))
    vr = VerificationReport.objects.filter(run=run).first()
    if vr is None:  # the run stopped before a report: its error says why
        exit_for(run)
        raise ValidationError(f"Run #{run.pk} {run.status} without a report")
    if options.get("json"):
        command.stdout.write(json.dumps(vr.report, indent=2, ensure_ascii=False, default=str))
    else:
        command.stdout.write(f"Report #{vr.pk}: {vr.status}")
        for line in verifying.report_lines(vr.report, options.get("show") or 10):
            command.stdout.write(line)
        for o in vr.report.get("skipped") or []:
            rows = f" ({o['rows']} rows)" if o.get("rows") is not None else ""
            command.stdout.write(f"  skipped {o['kind']} {o['name']}{rows}: {o['advice']}")
    if vr.status == VerificationReport.Status.FAIL:
        raise CommandError(f"Verification report #{vr.pk} of {target.name}: fail", returncode=EXIT_FAILED)
