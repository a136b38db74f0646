"""The rules of health: take and keep readings, chart them, judge thresholds, compare around a run.

Views, the CLI and the tasks call these; the engine (``migrations_ops.health``)
reads the target and computes the rates.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from django.utils.timezone import now

from migrations_ops import health as engine
from migrations_ops.errors import OpsError
from migrations_ops.health.models import HealthReading, Statement
from portal.ops.models import Run, Target
from portal.ops.permissions import require

from .models import HealthEvent, HealthSnapshot, HealthThreshold
from .windows import WINDOWS

log = logging.getLogger(__name__)

CHARTS = (  # field, title, unit, threshold metric drawn as a dashed line
    ("connections", "Connections", "", HealthThreshold.Metric.CONNECTIONS),
    ("active", "Active sessions", "", None),
    ("blocked", "Blocked sessions", "", HealthThreshold.Metric.BLOCKED),
    ("longest_xact_seconds", "Longest transaction", "s", HealthThreshold.Metric.LONGEST_XACT),
    ("tps", "Transactions per second", "/s", HealthThreshold.Metric.TPS),
    ("rollback_rate", "Rollback rate", "ratio", HealthThreshold.Metric.ROLLBACK_RATE),
    ("size_bytes", "Database size", "bytes", None),
)


# --- taking and keeping readings ------------------------------------------------------------


def take(target: Target, *, reading: HealthReading | None = None) -> HealthSnapshot:
    """Read the target's health and keep it, with the rates since its previous snapshot (connects, writes)."""
    reading = reading or engine.take_reading(target.conn())
    point = engine.point_of(reading)
    prev = HealthSnapshot.objects.filter(target=target, taken_at__lt=reading.taken_at).order_by("-taken_at").first()
    r = engine.rates(_point(prev), point) if prev else None
    return HealthSnapshot.objects.create(
        target=target, taken_at=reading.taken_at, connections=point.connections, active=point.active,
        blocked=point.blocked, longest_xact_seconds=point.longest_xact_seconds, size_bytes=point.size_bytes,
        xact_commit=point.xact_commit, xact_rollback=point.xact_rollback,
        tps=r.tps if r else None, rollback_rate=r.rollback_rate if r else None,
        deadlocks=r.deadlocks if r else None, temp_bytes=r.temp_bytes if r else None,
        seconds=reading.seconds, reading=reading.to_json(),
    )


def _point(row: HealthSnapshot) -> engine.Point:
    d = row.reading.get("database", {})
    return engine.Point(taken_at=row.taken_at, connections=row.connections, active=row.active, blocked=row.blocked,
                        longest_xact_seconds=row.longest_xact_seconds, size_bytes=row.size_bytes,
                        xact_commit=row.xact_commit, xact_rollback=row.xact_rollback,
                        deadlocks=d.get("deadlocks", 0), conflicts=d.get("conflicts", 0),
                        temp_bytes=d.get("temp_bytes", 0))


def take_all() -> dict[str, int]:
    """Read every active target, judge its thresholds, purge old readings (periodic; one failure skips one target)."""
    taken = failed = events = 0
    for target in Target.objects.filter(is_active=True).order_by("name"):
        try:
            row = take(target)
            taken += 1
        except (OpsError, DatabaseError, psycopg.Error, OSError) as exc:  # one target's failure skips that target
            failed += 1
            log.warning("health snapshot of %s failed: %s", target.name, exc)
            continue
        events += len(judge(target, row))
    return {"taken": taken, "failed": failed, "events": events, "purged": purge()}


def purge(*, at: dt.datetime | None = None) -> int:
    """Delete readings older than MOP_HEALTH_RETENTION_DAYS (bounded in settings); returns how many."""
    cutoff = (at or now()) - timedelta(days=settings.MOP_HEALTH_RETENTION_DAYS)
    deleted, _ = HealthSnapshot.objects.filter(taken_at__lt=cutoff).delete()
    return deleted


def reading_of(row: HealthSnapshot) -> HealthReading:
    return HealthReading.from_json(row.reading)


# --- what the page and the CLI show ---------------------------------------------------------


@dataclass(frozen=True)
class HealthView:
    """A target's health over a window: the snapshots, the latest reading, charts, open events."""

    target: Target
    window: str
    snapshots: list[HealthSnapshot]
    latest: HealthSnapshot | None
    reading: HealthReading | None
    events: list[HealthEvent]
    statements: list[engine.StatementDelta]


def view(target: Target, window: str = "6h", *, user=None) -> HealthView:
    """The target's readings in the window, oldest first, and what the latest says (reads the DB)."""
    if user is not None:
        require(user, "ops.view_target")
    if window not in WINDOWS:
        raise ValidationError(f"Unknown window {window!r}: one of {', '.join(WINDOWS)}")
    since = now() - WINDOWS[window]
    rows = list(HealthSnapshot.objects.filter(target=target, taken_at__gte=since).order_by("taken_at"))
    latest = rows[-1] if rows else HealthSnapshot.objects.filter(target=target).order_by("-taken_at").first()
    reading = reading_of(latest) if latest else None
    statements = (engine.statement_deltas(_statements(rows[0]), _statements(rows[-1]))
                  if len(rows) > 1 else [])
    events = list(HealthEvent.objects.filter(target=target).filter(
        closed_at__isnull=True).select_related("threshold")) + list(
        HealthEvent.objects.filter(target=target, closed_at__gte=since).select_related("threshold"))
    return HealthView(target, window, rows, latest, reading, events, statements)


def _statements(row: HealthSnapshot) -> list[Statement]:
    return [Statement.from_json(s) for s in row.reading.get("statements", [])]


def charts(hv: HealthView) -> list[str]:
    """The SVG charts of a view; each point links to its snapshot, thresholds of the environment dashed."""
    limits = {t.metric: t.above for t in HealthThreshold.objects.filter(
        environment=hv.target.environment, is_active=True)}
    out = []
    for field, title, unit, metric in CHARTS:
        points = [engine.ChartPoint(at=r.taken_at, value=_charted(r, field),
                                    href=reverse("admin:health_healthsnapshot_change", args=[r.pk]))
                  for r in hv.snapshots]
        out.append(engine.line_chart(title, points, unit=unit, limit=limits.get(metric) if metric else None))
    return out


def _charted(row: HealthSnapshot, field: str) -> float | None:
    """The value drawn; no open transaction is a longest transaction of 0 s, not a gap."""
    value = getattr(row, field)
    return 0.0 if value is None and field == "longest_xact_seconds" else value


def as_json(hv: HealthView) -> dict:
    """What ``ops health --json`` prints: the series, the latest reading's lists and the open events."""
    r = hv.reading
    return {
        "target": hv.target.name, "window": hv.window,
        "series": [{"snapshot": s.pk, "taken_at": s.taken_at.isoformat(), **{f: getattr(s, f) for f, *_ in CHARTS}}
                   for s in hv.snapshots],
        "latest": None if r is None else {
            "snapshot": hv.latest.pk if hv.latest else None, "taken_at": r.taken_at.isoformat(),
            "seconds": r.seconds, "size_bytes": r.database.size_bytes, "index_count": r.index_count,
            "largest_tables": [t.to_json() for t in r.largest_tables],
            "unused_indexes": [i.to_json() for i in r.unused_indexes],
            "duplicate_indexes": [d.to_json() for d in r.duplicate_indexes],
            "maintenance": [m.to_json() for m in r.maintenance],
            "statements_note": r.statements_note,
        },
        "slow_statements": [s.to_json() for s in hv.statements],
        "events": [{"id": e.pk, "metric": e.threshold.metric, "above": e.threshold.above, "value": e.value,
                    "opened_at": e.opened_at.isoformat(), "closed_at": e.closed_at.isoformat() if e.closed_at else None}
                   for e in hv.events],
    }


# --- thresholds ------------------------------------------------------------------------------


def figure(target: Target, row: HealthSnapshot, rule: HealthThreshold) -> float | None:
    """The value ``rule`` watches at ``row`` (reads the DB for the size growth and the statement slowdown).

    Size growth per day is measured against the oldest reading of the last day;
    the statement slowdown is the largest ratio of a statement's mean time in
    the window ending at ``row`` to its mean time before the rule's run.
    """
    if rule.metric == HealthThreshold.Metric.SIZE_GROWTH:
        first = HealthSnapshot.objects.filter(target=target, taken_at__gte=row.taken_at - timedelta(days=1)).order_by(
            "taken_at").first()
        if first is None or first.pk == row.pk:
            return None
        days = (row.taken_at - first.taken_at).total_seconds() / 86400
        return (row.size_bytes - first.size_bytes) / days if days > 0 else None
    if rule.metric == HealthThreshold.Metric.STATEMENT_SLOWDOWN:
        return _slowdown(target, row, rule)
    return getattr(row, rule.metric)


def _slowdown(target: Target, row: HealthSnapshot, rule: HealthThreshold) -> float | None:
    run = rule.since_run
    if run is None or run.target_id != target.pk or run.started_at is None or run.finished_at is None \
            or row.taken_at <= run.finished_at:
        return None
    length = timedelta(minutes=max(rule.for_minutes, 5))
    rows = HealthSnapshot.objects.filter(target=target).order_by("taken_at")
    before = list(rows.filter(taken_at__gte=run.started_at - length, taken_at__lte=run.started_at))
    after = list(rows.filter(taken_at__gte=max(run.finished_at, row.taken_at - length), taken_at__lte=row.taken_at))
    if len(before) < 2 or len(after) < 2:
        return None
    base = {d.queryid: d for d in engine.statement_deltas(_statements(before[0]), _statements(before[-1]))}
    ratios = [d.mean_ms / base[d.queryid].mean_ms
              for d in engine.statement_deltas(_statements(after[0]), _statements(after[-1]))
              if d.queryid in base and base[d.queryid].mean_ms and d.mean_ms is not None]
    return round(max(ratios), 4) if ratios else None


def judge(target: Target, row: HealthSnapshot) -> list[HealthEvent]:
    """Open an event for each threshold crossed in every reading of its minutes, close those back under.

    One breach is one event however many snapshots it lasts (a partial unique
    index makes a second open event for the same rule impossible).
    """
    opened = []
    for rule in HealthThreshold.objects.filter(environment=target.environment, is_active=True).select_related(
            "since_run"):
        value = figure(target, row, rule)
        crossed = value is not None and value > rule.above
        if crossed and rule.for_minutes:
            crossed = _lasted(target, row, rule)
        open_event = HealthEvent.objects.filter(target=target, threshold=rule, closed_at__isnull=True).first()
        if crossed and open_event is None:
            try:
                with transaction.atomic():
                    event = HealthEvent.objects.create(target=target, threshold=rule, value=value, snapshot=row,
                                                      opened_at=row.taken_at)
            except IntegrityError:
                continue  # another worker opened it meanwhile
            from .notify import notify_event

            notify_event(event)
            opened.append(event)
        elif not crossed and open_event is not None and value is not None:
            HealthEvent.objects.filter(pk=open_event.pk).update(closed_at=row.taken_at)
    return opened


def _lasted(target: Target, row: HealthSnapshot, rule: HealthThreshold) -> bool:
    """Whether every snapshot back to one at least ``for_minutes`` before ``row`` crossed the rule (reads the DB)."""
    need = timedelta(minutes=rule.for_minutes)
    for s in HealthSnapshot.objects.filter(target=target, taken_at__lte=row.taken_at).order_by("-taken_at")[:1000]:
        value = figure(target, s, rule)
        if value is None or value <= rule.above:
            return False
        if row.taken_at - s.taken_at >= need:
            return True
    return False


# --- since this run --------------------------------------------------------------------------


@dataclass(frozen=True)
class SinceRun:
    """Health figures in equal windows before a run started and after it finished."""

    run: Run
    window: timedelta
    before: engine.WindowFigures
    after: engine.WindowFigures
    statements: list[dict]

    @property
    def window_text(self) -> str:
        minutes = self.window.total_seconds() / 60
        return f"{minutes / 60:.1f} h" if minutes >= 120 else f"{minutes:.0f} min"


def since_run(run: Run, *, window: timedelta | None = None, user=None) -> SinceRun:
    """Compare the target's readings before the run with as long a window after it (reads the DB).

    The window is ``window``, else the time since the run finished (capped at a day): both sides are
    the same length. A statement's mean time is compared where it ran on both sides.
    """
    if user is not None:
        require(user, "ops.view_run")
    if run.status not in Run.COMPLETED or run.started_at is None or run.finished_at is None:
        raise ValidationError(f"Run #{run.pk} did not succeed: there is no 'after' to compare")
    length = window or min(max(now() - run.finished_at, timedelta(minutes=1)), timedelta(days=1))
    rows = HealthSnapshot.objects.filter(target=run.target).order_by("taken_at")
    before = list(rows.filter(taken_at__gte=run.started_at - length, taken_at__lte=run.started_at))
    after = list(rows.filter(taken_at__gte=run.finished_at, taken_at__lte=run.finished_at + length))
    b = _figures(before)
    a = _figures(after)
    mean_before = {s.queryid: s for s in b.statements}
    compared = [{"queryid": s.queryid, "query": s.query, "mean_ms_before": mean_before[s.queryid].mean_ms,
                 "mean_ms_after": s.mean_ms, "calls_before": mean_before[s.queryid].calls, "calls_after": s.calls,
                 "ratio": round(s.mean_ms / mean_before[s.queryid].mean_ms, 4)
                 if s.mean_ms is not None and mean_before[s.queryid].mean_ms else None}
                for s in a.statements if s.queryid in mean_before]
    return SinceRun(run=run, window=length, before=b, after=a, statements=compared)


def _figures(rows: list[HealthSnapshot]) -> engine.WindowFigures:
    points = [_point(r) for r in rows]
    return engine.window_figures(points, _statements(rows[0]) if rows else [], _statements(rows[-1]) if rows else [])


def since_json(s: SinceRun) -> dict:
    return {"run": s.run.pk, "operation": s.run.operation, "window_seconds": s.window.total_seconds(),
            "before": s.before.to_json(), "after": s.after.to_json(), "statements": s.statements}
