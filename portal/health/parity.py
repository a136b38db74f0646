"""Search parity checks: ask for one (rules, permissions), run it on a worker, keep its report."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now

from migrations_ops.errors import OpsError
from migrations_ops.health import parity as engine
from migrations_ops.target import connect
from portal.ops import audit
from portal.ops.copy_sources import relative_name, resolve_source
from portal.ops.models import AuditEvent, Target
from portal.ops.permissions import actor_name as _actor
from portal.ops.permissions import require

from .models import ParityCheck

QUERIES_MAX = 200


def request_check(target: Target, *, sqlite: str, table: str, schema: str = "public", regconfig: str = "",
                  queries: list[str] | None = None, count: int = 20, user=None, actor: str | None = None,
                  enqueue: bool = True) -> ParityCheck:
    """Record a parity check and queue it after commit (validates the source path and the queries first)."""
    if user is not None:
        require(user, "ops.schedule_run")
    path = resolve_source(sqlite)
    queries = [q for q in (queries or []) if q.strip()]
    if len(queries) > QUERIES_MAX or not 1 <= count <= QUERIES_MAX:
        raise ValidationError(f"At most {QUERIES_MAX} queries")
    for q in queries:
        try:
            engine.parse_query(q)
        except engine.ParityError as exc:
            raise ValidationError(str(exc)) from None
    if not table.strip():
        raise ValidationError("Name the FTS5 table")
    who = _actor(user, actor)
    with transaction.atomic():
        check = ParityCheck.objects.create(target=target, sqlite_path=relative_name(path), table=table.strip(),
                                           schema=schema.strip() or "public", regconfig=regconfig.strip(),
                                           queries=queries, count=count, actor=who)
        audit.record(actor=who, actor_kind=AuditEvent.ActorKind.USER, action="health.parity_requested",
                     target=target, params={"check": check.pk, "table": check.table, "regconfig": check.regconfig,
                                            "queries": len(queries)}, outcome="queued")
        if enqueue:
            # Queued by name: the task module imports this one.
            transaction.on_commit(lambda: _send(check.pk))
    return check


def _send(check_id: int) -> None:
    from portal.celery import app

    app.send_task("health.search_parity", (check_id,))


def run_check(check_id: int) -> str:
    """Claim the check, run the engine, store the report or the error (connects to the target, reads SQLite)."""
    claimed = ParityCheck.objects.filter(pk=check_id, status=ParityCheck.Status.QUEUED).update(
        status=ParityCheck.Status.RUNNING, started_at=now())
    if claimed != 1:
        return "not queued"
    check = ParityCheck.objects.select_related("target").get(pk=check_id)
    try:
        path = resolve_source(check.sqlite_path)
        with connect(check.target.conn(), application_name=f"mop:parity:{check.pk}") as conn:
            report = engine.search_parity(path, conn, check.table, schema=check.schema,
                                          regconfig=check.regconfig or None, query_texts=check.queries,
                                          count=check.count)
    except (OpsError, ValidationError, OSError) as exc:
        message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        ParityCheck.objects.filter(pk=check.pk).update(status=ParityCheck.Status.FAILED, finished_at=now(),
                                                       error=message[:2000])
        return "failed"
    except Exception as exc:
        ParityCheck.objects.filter(pk=check.pk).update(status=ParityCheck.Status.FAILED, finished_at=now(),
                                                       error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    ParityCheck.objects.filter(pk=check.pk).update(
        status=ParityCheck.Status.SUCCEEDED, finished_at=now(), report=report.to_json(),
        matching=report.matching, total=len(report.queries), regconfig=report.regconfig)
    return "succeeded"


def report_of(check: ParityCheck) -> engine.ParityReport | None:
    return engine.ParityReport.from_json(check.report) if check.report else None
