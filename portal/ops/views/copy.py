"""Admin pages of copies and verifications.

Copy flow (the ``delete_selected`` pattern): the form (upload or pick a
file) -> POST renders the pre-flight report with a confirm form -> POST with
``post=yes`` schedules the run. Then the run page (per table progress, log,
summary, rejects, resume, abandon with a confirm page and a reason), and the verification reports (read, download,
compare). Every rule is a ``copying`` / ``verifying`` / ``services`` call;
permissions are checked on the request itself, so a crafted POST gets 403.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.timezone import now

from migrations_ops.copy.skipped import definitions_sql
from migrations_ops.errors import OpsError

from .. import copy_figures, copy_sources, copying, permissions, services, verifying
from ..copy_forms import AbandonForm, CopyConfirmForm, CopySourceForm, VerifyForm
from ..models import Run, Target, VerificationReport
from .page import context, error, flash, object_pk
from .runs import live_payload

REJECTS_SHOWN = 500


def _target(pk: int) -> Target:
    return get_object_or_404(Target.objects.select_related("project"), pk=pk)


def _source_form(request, target: Target, data=None, files=None) -> CopySourceForm:
    return CopySourceForm(data, files, files_available=copy_sources.list_import_files())


def _render_source(model_admin, request, target: Target, form):
    ctx = context(model_admin, request, f"Copy a SQLite file into {target.name}", target=target, original=target,
                   form=form, import_dir=copy_sources.import_dir(), busy=copying.active_copy(target),
                   open_copy=copying.unfinished_copy(target))
    return TemplateResponse(request, "admin/ops/copy/form.html", ctx)


def copy_start(model_admin, request, pk: int):
    """GET: the form. POST: pre-flight report with the confirm form. POST post=yes: schedule the copy."""
    services.require(request.user, "ops.schedule_run")
    target = _target(pk)
    if request.method == "GET":
        return _render_source(model_admin, request, target, _source_form(request, target))
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.POST.get("post") == "yes":
        return _confirm(model_admin, request, target)
    form = _source_form(request, target, request.POST, request.FILES)
    if not form.is_valid():
        return _render_source(model_admin, request, target, form)
    data = form.cleaned_data
    uploaded = None
    try:
        if data.get("upload"):
            source = uploaded = copy_sources.save_upload(data["upload"])
        else:
            source = copy_sources.relative_name(copy_sources.resolve_source(data.get("pick") or data.get("path")))
        tables = copy_sources.parse_tables(data.get("tables"))
        opts = copying.copy_options(form.options(), tables)
        report = copying.preflight(target, source, tables, opts)
    except ValidationError as exc:
        copy_sources.discard_upload(uploaded)  # a rejected upload leaves nothing in uploads/
        for msg in exc.messages:
            form.add_error(None, msg)
        return _render_source(model_admin, request, target, form)
    except OpsError as exc:
        copy_sources.discard_upload(uploaded)
        flash(request, exc)
        return _render_source(model_admin, request, target, form)
    non_empty = ", ".join(f"{name} ({rows:,} rows)" for name, rows in report.non_empty_tables)
    initial = {**form.options(), "source": source, "tables": " ".join(tables or []), "non_empty_tables": non_empty}
    if non_empty:
        initial.pop("if_not_empty", None)  # a choice the DBA makes here, seeing the counts: no default
    confirm = CopyConfirmForm(initial=initial)
    ctx = context(
        model_admin, request, f"Pre-flight: {source} into {target.name}", target=target, original=target,
        report=report, source=source, form=confirm, options=form.options(), tables=tables,
        needs_name=permissions.needs_confirmation(target, Run.Operation.COPY), busy=copying.active_copy(target),
        profile_rows=_profile_rows(report), predicted=_predicted_rows(report),
        not_copied_sql=definitions_sql(report.not_copied, source),
        fts_created=dict(report.fts_tables),
    )
    return TemplateResponse(request, "admin/ops/copy/preflight.html", ctx)


def _profile_rows(report) -> list[dict]:
    """One row per copied column: storage classes present, the target type, NULLs it will refuse."""
    rows = []
    for t in report.tables:
        for col, classes in t.storage_classes.items():
            rows.append({"table": t.name, "column": col, "classes": sorted(classes.items()),
                         "target_type": t.target_types.get(col, ""), "nulls": t.nulls_in_not_null.get(col, 0),
                         "missing": col in t.source_only_columns,
                         "mixed": len([c for c in classes if c != "null"]) > 1})
    return rows


def _predicted_rows(report) -> list[dict]:
    """One row per table, column and reason the copy will reject (or warn about), with its example."""
    return [{"table": t.name, "p": p, "warning": warn} for t in report.tables if t.predicted
            for warn, rows in ((False, t.predicted.rejects), (True, t.predicted.warnings)) for p in rows]


def _confirm(model_admin, request, target: Target):
    form = CopyConfirmForm(request.POST)
    if not form.is_valid():
        for msg in form.errors.get("if_not_empty", []):
            messages.error(request, f"{msg} Nothing was scheduled.")
        messages.error(request, "The confirmation form was incomplete; start again.")
        return redirect(reverse("admin:ops_target_copy", args=[target.pk]))
    data = form.cleaned_data
    try:
        run = copying.schedule_copy(
            target=target, source=data["source"], tables=copy_sources.parse_tables(data.get("tables")),
            options=form.options(), user=request.user, confirm_name=data.get("confirm_name") or None,
        )
    except ValidationError as exc:
        for msg in exc.messages:
            messages.error(request, msg)
        return redirect(reverse("admin:ops_target_copy", args=[target.pk]))
    messages.success(request, f"Copy run #{run.pk} scheduled: {run.params['source']} into {target.name}.")
    return redirect(reverse("admin:ops_run_change", args=[run.pk]))


# --- verification --------------------------------------------------------------------------


def verify_start(model_admin, request, pk: int):
    """GET: the form. POST: schedule a verification (with the source, or ``target_only``)."""
    services.require(request.user, "ops.schedule_run")
    target = _target(pk)
    files = copy_sources.list_import_files()
    form = VerifyForm(request.POST or None, files_available=files, copy_runs=verifying.copy_run_choices(target))
    if request.method == "POST" and form.is_valid():
        try:
            run = verifying.schedule_verify(
                target=target, source=form.source(bool(request.POST.get("target_only"))),
                tables=form.cleaned_data.get("tables"), user=request.user,
                after_copy=verifying.copy_run_of(target, form.cleaned_data.get("copy_run")),
                copy_id=(form.cleaned_data.get("copy_id") or "").strip() or None,
            )
        except ValidationError as exc:
            for msg in exc.messages:
                form.add_error(None, msg)
        else:
            messages.success(request, f"Verification run #{run.pk} of {target.name} scheduled.")
            return redirect(reverse("admin:ops_run_change", args=[run.pk]))
    ctx = context(model_admin, request, f"Verify {target.name}", target=target, original=target, form=form,
                   import_dir=copy_sources.import_dir(),
                   reports=VerificationReport.objects.filter(target=target).select_related("run")[:10])
    return TemplateResponse(request, "admin/ops/verify/form.html", ctx)


# --- run pages ------------------------------------------------------------------------------


def run_page(model_admin, request, run: Run):
    """The live page of a copy or verification run."""
    payload = live_payload(run, 0)
    extra = _run_extra(run)
    ctx = context(
        model_admin, request, f"Run #{run.pk}: {run.get_operation_display()} on {run.target.name}",
        run=run, original=run, log_lines=run.log_lines.order_by("id"),
        live_url=reverse("admin:ops_run_live", args=[run.pk]),
        can_cancel=request.user.has_perm("ops.cancel_run") and run.is_active,
        can_resume=request.user.has_perm("ops.schedule_run") and copying.can_resume(run),
        can_abandon=request.user.has_perm("ops.schedule_run") and copying.can_abandon(run),
        abandoned=(run.params or {}).get("abandoned"),
        needs_name=permissions.needs_confirmation(run.target, run.operation),
        payload_json=json.dumps({**payload, **extra}, default=str), **extra, not_copied=_not_copied(run),
    )
    template = "admin/ops/copy/run.html" if run.operation == Run.Operation.COPY else "admin/ops/verify/run.html"
    return TemplateResponse(request, template, ctx)


def _not_copied(run: Run) -> list[dict]:
    """What the copy leaves behind: from its summary once finished, else from the pre-flight the DBA confirmed."""
    summary = (run.progress_data or {}).get("summary") or {}
    return summary.get("skipped") or ((run.params or {}).get("preflight") or {}).get("not_copied") or []


def _run_extra(run: Run) -> dict:
    if run.operation == Run.Operation.COPY:
        return {"copy": copy_figures.live_figures(run), "worker": run.worker}
    report = VerificationReport.objects.filter(run=run).only("pk", "status").first()
    return {"worker": run.worker, "verify": {"report_id": report.pk if report else None, "report_status": report.status if report else None,
                       "report_url": reverse("admin:ops_verificationreport_change", args=[report.pk]) if report else None}}


def run_live(model_admin, request, run: Run):
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    return JsonResponse({**live_payload(run, after), **_run_extra(run)})


def rejects(model_admin, request, pk: int, csv: bool = False):
    """The copy's rejected rows, read from the target; ``csv`` streams all of them."""
    run = get_object_or_404(Run.objects.select_related("target"), pk=pk, operation=Run.Operation.COPY)
    if not model_admin.has_view_permission(request, run):
        raise PermissionDenied
    if csv:
        response = StreamingHttpResponse(copy_figures.rejects_csv_rows(run), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rejects-run{run.pk}-{run.params["copy_id"]}.csv"'
        return response
    table = request.GET.get("table") or None
    ctx = context(model_admin, request, f"Rejects of copy run #{run.pk}", run=run, original=run, table=table,
                   tables=sorted((run.progress_data or {}).get("tables", {})), limit=REJECTS_SHOWN)
    try:
        ctx["rows"] = copy_figures.rejects(run, table, REJECTS_SHOWN)
    except OpsError as exc:
        ctx["error"] = error(exc)
    return TemplateResponse(request, "admin/ops/copy/rejects.html", ctx)


def not_copied_sql(model_admin, request, pk: int):
    """The .sql file of what the copy left behind: views' and triggers' SQLite definitions, suggested FTS DDL."""
    run = get_object_or_404(Run.objects.select_related("target"), pk=pk, operation=Run.Operation.COPY)
    if not model_admin.has_view_permission(request, run):
        raise PermissionDenied
    try:
        text = copying.skipped_definitions(run)
    except (ValidationError, OpsError) as exc:
        why = "; ".join(getattr(exc, "messages", None) or [str(exc)])
        return HttpResponse(f"-- cannot read the source of run #{run.pk}: {why}\n", status=409,
                            content_type="application/sql; charset=utf-8")
    response = HttpResponse(text, content_type="application/sql; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="not-copied-run{run.pk}-{run.params["copy_id"]}.sql"'
    return response


def resume(model_admin, request, pk: int):
    """POST only: a new run with the same copy id."""
    services.require(request.user, "ops.schedule_run")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    run = get_object_or_404(Run.objects.select_related("target"), pk=pk)
    try:
        new = copying.resume_copy(run, user=request.user, confirm_name=request.POST.get("confirm_name") or None)
    except ValidationError as exc:
        for msg in exc.messages:
            messages.error(request, msg)
        return redirect(reverse("admin:ops_run_change", args=[pk]))
    messages.success(request, f"Copy resumed as run #{new.pk} (copy id {new.params['copy_id']}): "
                              "committed ranges are skipped.")
    return redirect(reverse("admin:ops_run_change", args=[new.pk]))


def abandon(model_admin, request, pk: int):
    """GET or POST: the confirm page (what abandoning does, a required reason); POST post=yes + reason: abandon."""
    services.require(request.user, "ops.schedule_run")
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    run = get_object_or_404(Run.objects.select_related("target"), pk=pk, operation=Run.Operation.COPY)
    back = reverse("admin:ops_run_change", args=[pk])
    confirming = request.method == "POST" and request.POST.get("post") == "yes"
    form = AbandonForm(request.POST if confirming else None)
    if not copying.can_abandon(run):
        messages.error(request, f"Run #{run.pk} cannot be abandoned: only a failed, cancelled or interrupted copy "
                                "that no later run finished or is running, and not abandoned already, can be.")
        return redirect(back)
    if confirming and form.is_valid():
        try:
            report = copying.abandon_copy_run(run, user=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            for msg in exc.messages:
                form.add_error("reason", msg)
        except OpsError as exc:
            err = error(exc)
            messages.error(request, err["message"] + (f" — {err['explanation']}" if err["explanation"] else ""))
            return redirect(back)
        else:
            if report is not None and report.failed:
                messages.warning(request, f"Copy {run.params['copy_id']} abandoned, but {len(report.failed)} "
                                          "definition(s) could not be restored (see the log); abandon again to retry.")
            else:
                restored = len(report.restored) if report is not None else 0
                messages.success(request, f"Copy {run.params['copy_id']} abandoned: {restored} definition(s) "
                                          f"restored. A new copy into {run.target.name} can start.")
            return redirect(back)
    ctx = context(model_admin, request, f"Abandon copy {run.params.get('copy_id')} of run #{run.pk}?", run=run,
                   original=run, target=run.target, form=form, back_url=back)
    return TemplateResponse(request, "admin/ops/copy/abandon_confirm.html", ctx)


# --- reports ------------------------------------------------------------------------------------


def report_page(model_admin, request, pk: int):
    vr = get_object_or_404(VerificationReport.objects.select_related("run", "target", "copy_run"), pk=object_pk(pk))
    if not model_admin.has_view_permission(request, vr):
        raise PermissionDenied
    report = verifying.report_of(vr)
    others = VerificationReport.objects.filter(target=vr.target).exclude(pk=vr.pk).order_by("-created_at")[:20]
    settings_items = sorted((k, v) for k, v in report.header.settings.items())
    tables = [{"t": t, "findings": [_finding_view(f) for f in t.findings]} for t in report.tables]
    ctx = context(model_admin, request, f"Verification report #{vr.pk} of {vr.target.name}", vr=vr, original=vr,
                   report=report, others=others, settings_items=settings_items, tables=tables,
                   db_findings=[_finding_view(f) for f in report.findings])
    return TemplateResponse(request, "admin/ops/verify/report.html", ctx)


def _text(v) -> str:
    """A figure or sample key as a page shows it: scalars as they are, dicts as k=v, lists joined."""
    if isinstance(v, dict):
        return ", ".join(f"{k}={_text(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_text(x) for x in v) + "]"
    return "NULL" if v is None else str(v)


def _finding_view(f) -> dict:
    return {"check": f.check, "status": f.status, "message": f.message, "table": f.table, "columns": f.columns,
            "figures": [(k, _text(v)) for k, v in f.figures.items()], "samples": [_text(x) for x in f.samples[:10]]}


def report_download(model_admin, request, pk: int, fmt: str):
    vr = get_object_or_404(VerificationReport, pk=pk)
    if not model_admin.has_view_permission(request, vr):
        raise PermissionDenied
    report = verifying.report_of(vr)
    body, ctype = (report.to_json(indent=2), "application/json") if fmt == "json" else (report.to_csv(), "text/csv")
    response = HttpResponse(body, content_type=f"{ctype}; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="verification-{vr.target.name}-{vr.pk}-{vr.created_at:%Y%m%d-%H%M%S}.{fmt}"')
    return response


def report_compare(model_admin, request, pk: int):
    vr = get_object_or_404(VerificationReport.objects.select_related("target"), pk=pk)
    if not model_admin.has_view_permission(request, vr):
        raise PermissionDenied
    raw = (request.GET.get("with") or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        messages.error(request, f"Compare with which report? '?with=' takes a report number of {vr.target.name}, "
                                f"not {raw[:40]!r}; pick one from the list on the report page.")
        return redirect(reverse("admin:ops_verificationreport_change", args=[pk]))
    other = get_object_or_404(VerificationReport, pk=int(raw))
    try:
        old, new, diff = verifying.compare(other, vr)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse("admin:ops_verificationreport_change", args=[pk]))
    ctx = context(model_admin, request, f"Reports #{old.pk} → #{new.pk} of {vr.target.name}", vr=vr, original=vr,
                   old=old, new=new, diff=diff, at=now(), new_problems=[_finding_view(f) for f in diff.new_problems],
                   resolved=[_finding_view(f) for f in diff.resolved])
    return TemplateResponse(request, "admin/ops/verify/compare.html", ctx)
