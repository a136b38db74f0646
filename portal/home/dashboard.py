"""The fleet at a glance: one row per target and the counts above it, from stored rows only.

Steps (a fixed number of queries whatever the number of targets):
1 targets with their stored state, the ids of their last run, active run,
last run that read the version table, latest snapshot and latest report
(correlated subqueries on the per-target indexes), 2 those rows by id
(only the small columns), 3 the project graphs, 4 the counts, 5 what waits
for this user. Nothing here connects to a target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.timezone import now

from portal.ops.models import AlembicProject, LockSnapshot, Run, Target, VerificationReport

from . import fleet, hooks
from .models import ProjectGraph, RunSeen
from .seen import FAILED_STATUSES

# A snapshot older than this is shown with its age but not counted as "blocked now".
SNAPSHOT_FRESH = timedelta(minutes=15)
# Failed runs older than this no longer wait for anyone.
FAILED_LOOKBACK = timedelta(days=7)
RUN_FIELDS = ("id", "target_id", "operation", "revision", "status", "created_at", "started_at", "finished_at",
              "steps_done", "steps_total", "current_step", "result_heads", "actor", "requested_by_id")
SNAP_FIELDS = ("id", "target_id", "taken_at", "summary", "blocked", "root_blockers")


@dataclass
class Row:
    target: Target
    standing: fleet.Standing
    last_run: Run | None
    active_run: Run | None
    snapshot: LockSnapshot | None
    snapshot_fresh: bool
    report: VerificationReport | None
    drift: hooks.Cell | None
    waiting: list[hooks.Waiting] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    """The row's links (status, activity, last_run, active_run, report), filled by ``build``."""


# The row's links: reversed once per page for pk 0 and filled in, not once per row in the template
# ({% url %} for 100 targets took a third of the page's time).
LINKS = {"status": "admin:ops_target_status", "activity": "admin:ops_target_activity",
         "run": "admin:ops_run_change", "report": "admin:ops_verificationreport_change"}


def _linker():
    patterns = {key: reverse(name, args=[0]) for key, name in LINKS.items()}

    def link(key: str, pk: int | None) -> str:
        return patterns[key].replace("/0/", f"/{pk}/", 1) if pk else ""

    return link


@dataclass
class Fleet:
    rows: list[Row]
    counts: dict[str, int]
    waiting: list[hooks.Waiting]
    projects: list[AlembicProject]
    environments: list[tuple[str, str]]
    filters: dict[str, str]
    notes: list[str]


def _latest(qs, order: str):
    return Subquery(qs.order_by(order).values("pk")[:1])


def _targets(filters: dict[str, str]):
    runs = Run.objects.filter(target=OuterRef("pk"))
    qs = Target.objects.filter(is_active=True).select_related("project", "home_state").annotate(
        last_run_id=_latest(runs, "-created_at"),
        active_run_id=_latest(runs.filter(status__in=Run.ACTIVE), "-created_at"),
        heads_run_id=_latest(runs.filter(result_heads__isnull=False, finished_at__isnull=False), "-created_at"),
        snap_id=_latest(LockSnapshot.objects.filter(target=OuterRef("pk")), "-taken_at"),
        report_id=_latest(VerificationReport.objects.filter(target=OuterRef("pk")), "-created_at"),
    ).order_by("name")
    if filters.get("project"):
        qs = qs.filter(project_id=int(filters["project"]))
    if filters.get("environment"):
        qs = qs.filter(environment=filters["environment"])
    return list(qs)


def _graphs(targets: list[Target]) -> dict[int, ProjectGraph]:
    """Stored graphs; a directory project never read yet is read now (files only, once)."""
    ids = {t.project_id for t in targets}
    graphs = {g.project_id: g for g in ProjectGraph.objects.filter(project_id__in=ids)}
    for t in targets:
        if t.project_id not in graphs and t.project.kind == AlembicProject.Kind.PATH:
            graphs[t.project_id] = fleet.refresh_graph(t.project)
    return graphs


def clean_filters(params) -> tuple[dict[str, str], list[str]]:
    """The project and environment filters from the query string; a bad value is named and dropped."""
    filters: dict[str, str] = {}
    notes: list[str] = []
    project = (params.get("project") or "").strip()
    if project:
        if project.isdigit() and len(project) < 18 and AlembicProject.objects.filter(pk=int(project)).exists():
            filters["project"] = project
        else:
            notes.append(f"No project {project[:40]!r}: showing every project.")
    environment = (params.get("environment") or "").strip()
    if environment:
        if environment in Target.Environment.values:
            filters["environment"] = environment
        else:
            notes.append(f"No environment {environment[:40]!r}: showing every environment.")
    state = (params.get("state") or "").strip()
    if state:
        if state in fleet.STATE_LABELS:
            filters["state"] = state
        else:
            notes.append(f"No revision state {state[:40]!r}: showing every state.")
    return filters, notes


def failed_waiting(user, target_ids: list[int] | None = None) -> list[hooks.Waiting]:
    """Failed or interrupted runs of the last week, asked for by this user or by a schedule, not yet looked at."""
    if not getattr(user, "is_authenticated", False):
        return []
    seen = RunSeen.objects.filter(run=OuterRef("pk"), user=user)
    qs = (Run.objects.filter(status__in=FAILED_STATUSES, finished_at__gte=now() - FAILED_LOOKBACK)
          .filter(Q(requested_by=user) | Q(requested_by__isnull=True))
          .exclude(Exists(seen)).select_related("target").only(*RUN_FIELDS, "target__name")
          .order_by("-finished_at"))
    if target_ids is not None:
        qs = qs.filter(target_id__in=target_ids)
    return [
        hooks.Waiting("failed_run", f"Run #{r.pk} {r.get_operation_display().lower()} on {r.target.name} "
                                    f"{r.get_status_display().lower()}", reverse("admin:ops_run_change", args=[r.pk]), r.target_id,
                      r.finished_at)
        for r in qs[:50]
    ]


def counts(rows: list[Row]) -> dict[str, int]:
    since = now() - timedelta(hours=24)
    return {
        "behind": sum(1 for r in rows if r.standing.state == fleet.BEHIND),
        "running": Run.objects.filter(status=Run.Status.RUNNING).count(),
        "queued": Run.objects.filter(status=Run.Status.QUEUED).count(),
        "failed_24h": Run.objects.filter(status__in=FAILED_STATUSES, finished_at__gte=since).count(),
        "blocked": sum(r.snapshot.blocked for r in rows if r.snapshot is not None and r.snapshot_fresh),
        "stale_snapshots": sum(1 for r in rows if r.snapshot is not None and not r.snapshot_fresh),
    }


def build(user, params) -> Fleet:
    """Everything the dashboard shows, for ``user``, filtered by ``params`` (the query string)."""
    filters, notes = clean_filters(params)
    targets = _targets(filters)
    run_ids = {i for t in targets for i in (t.last_run_id, t.active_run_id, t.heads_run_id) if i}
    runs = Run.objects.only(*RUN_FIELDS).in_bulk(run_ids)
    snaps = LockSnapshot.objects.only(*SNAP_FIELDS).in_bulk([t.snap_id for t in targets if t.snap_id])
    reports = VerificationReport.objects.only("id", "target_id", "status", "created_at", "run_id").in_bulk(
        [t.report_id for t in targets if t.report_id])
    graphs = _graphs(targets)
    ids = [t.pk for t in targets]
    drift = hooks.drift_cells(ids)
    waiting = [*hooks.approvals_waiting(user, ids), *hooks.health_waiting(user, ids), *failed_waiting(user, ids)]
    fresh_after = now() - SNAPSHOT_FRESH
    link = _linker()
    rows = []
    for t in targets:
        heads_run = runs.get(t.heads_run_id)
        state = getattr(t, "home_state", None)
        current, has_table, observed, source = fleet.latest_observation(
            state, heads_run.result_heads if heads_run else None, heads_run.finished_at if heads_run else None)
        snap = snaps.get(t.snap_id)
        rows.append(Row(
            target=t, standing=fleet.standing(current, has_table, graphs.get(t.project_id), observed, source),
            last_run=runs.get(t.last_run_id), active_run=runs.get(t.active_run_id), snapshot=snap,
            snapshot_fresh=bool(snap and snap.taken_at >= fresh_after), report=reports.get(t.report_id),
            drift=drift.get(t.pk), waiting=[w for w in waiting if w.target_id == t.pk],
            links={"status": link("status", t.pk), "activity": link("activity", t.pk),
                   "last_run": link("run", t.last_run_id), "active_run": link("run", t.active_run_id),
                   "report": link("report", t.report_id)},
        ))
    if filters.get("state"):
        rows = [r for r in rows if r.standing.state == filters["state"]]
    return Fleet(
        rows=rows, counts=counts(rows), waiting=waiting,
        projects=list(AlembicProject.objects.order_by("name").only("id", "name")),
        environments=list(Target.Environment.choices), filters=filters, notes=notes,
    )


def summary(snapshot: LockSnapshot | None) -> dict[str, Any]:
    """The snapshot's summary strip figures the row shows."""
    return dict(snapshot.summary or {}) if snapshot is not None else {}
