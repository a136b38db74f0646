"""Where each target stands against its project's heads, from stored observations (no connection on page load).

A target's current revision is the newest of: its ``TargetState`` (written
when a status page, a snapshot or the fleet check read the version table)
and the ``result_heads`` its last run read at the end. The project's graph
comes from ``ProjectGraph`` (read from the scripts once, refreshed by the
fleet check and by status pages).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.utils.timezone import now

from migrations_ops.errors import OpsError
from portal.ops.models import AlembicProject, Target
from portal.ops.secrets import redact

from .models import ProjectGraph, TargetState

log = logging.getLogger(__name__)

UP_TO_DATE = "up_to_date"
BEHIND = "behind"
UNKNOWN_REVISION = "unknown_revision"
MULTIPLE_HEADS = "multiple_heads"
UNCHECKED = "unchecked"
NO_SCRIPTS = "no_scripts"

STATE_LABELS = {
    UP_TO_DATE: "Up to date",
    BEHIND: "Behind head",
    UNKNOWN_REVISION: "Unknown revision",
    MULTIPLE_HEADS: "Multiple heads",
    UNCHECKED: "Not checked yet",
    NO_SCRIPTS: "Scripts unreadable",
}

# What read the revision the row shows.
SOURCE_LABELS = {"status": "status page", "snapshot": "snapshot", "fleet_check": "fleet check", "run": "last run"}


@dataclass(frozen=True, slots=True)
class Standing:
    """One target against its project: what the dashboard's revision cell says."""

    state: str
    current: tuple[str, ...] | None
    heads: tuple[str, ...]
    pending: int | None
    observed_at: datetime | None
    source: str

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)


def ancestors(parents: dict[str, list[str]], revs) -> set[str]:
    """Every revision reachable from ``revs`` through parents, ``revs`` included.

    >>> sorted(ancestors({"c": ["b"], "b": ["a"], "a": []}, ["c"]))
    ['a', 'b', 'c']
    >>> sorted(ancestors({"m": ["x", "y"], "x": ["a"], "y": ["a"], "a": []}, ["y"]))
    ['a', 'y']
    """
    seen: set[str] = set()
    todo = list(revs)
    while todo:
        rev = todo.pop()
        if rev in seen:
            continue
        seen.add(rev)
        todo.extend(parents.get(rev, ()))
    return seen


def standing(current, has_version_table: bool, graph: ProjectGraph | None, observed_at=None,
             source: str = "") -> Standing:
    """Classify a target: up to date, behind (with the pending count), unknown revision, multiple heads.

    >>> g = ProjectGraph(heads=["c"], parents={"c": ["b"], "b": ["a"], "a": []})
    >>> standing(["a"], True, g).pending, standing(["a"], True, g).state
    (2, 'behind')
    >>> standing(["c"], True, g).state, standing(["zz"], True, g).state, standing(None, True, g).state
    ('up_to_date', 'unknown_revision', 'unchecked')
    >>> standing([], False, g).pending
    3
    """
    heads = tuple(graph.heads) if graph is not None else ()
    cur = tuple(current) if current is not None else None

    def make(state: str, pending: int | None = None) -> Standing:
        return Standing(state, cur, heads, pending, observed_at, source)

    if cur is None:
        return make(UNCHECKED)
    if graph is None or graph.error or not graph.heads:
        return make(NO_SCRIPTS)
    parents = graph.parents
    if any(rev not in parents for rev in cur):
        return make(UNKNOWN_REVISION)
    pending = len(ancestors(parents, heads) - ancestors(parents, cur))
    if len(heads) > 1:
        return make(MULTIPLE_HEADS, pending)
    return make(UP_TO_DATE if pending == 0 else BEHIND, pending)


def latest_observation(state: TargetState | None, run_heads, run_finished_at):
    """(current, has_version_table, observed_at, source): the newer of the stored state and the last run's end.

    A run that read ``result_heads`` at its end is as good an observation as a status check.
    """
    if run_heads is not None and run_finished_at is not None and (
            state is None or state.error or run_finished_at > state.observed_at):
        return list(run_heads), True, run_finished_at, "run"
    if state is None or state.error:
        return None, True, state.observed_at if state else None, state.source if state else ""
    return list(state.current), state.has_version_table, state.observed_at, state.source


# --- writing what was read -------------------------------------------------------


def refresh_graph(project: AlembicProject) -> ProjectGraph:
    """Read the project's scripts (statically) and store heads and parents (reads files, writes the DB)."""
    from portal.ops import services  # noqa: PLC0415 - a status read stores its heads here without the services

    try:
        listing = services.project_listing(project)
    except OpsError as exc:
        graph, _ = ProjectGraph.objects.update_or_create(
            project=project, defaults={"error": redact(str(exc)), "read_at": now()})
        return graph
    parents = {r.id: [*r.parents, *r.depends_on_ids] for r in listing.revisions}
    graph, _ = ProjectGraph.objects.update_or_create(project=project, defaults={
        "heads": sorted(listing.heads), "parents": parents, "fingerprint": listing.fingerprint, "error": "",
        "read_at": now(),
    })
    return graph


def record_status(target: Target, status, source: str = TargetState.Source.STATUS) -> None:
    """Store what a status read found (``migrations_ops.schema.state.TargetStatus``); never fails the caller's page."""
    try:
        TargetState.objects.update_or_create(target=target, defaults={
            "current": sorted(status.current), "has_version_table": status.has_version_table, "error": "",
            "source": source, "observed_at": now(),
        })
    except Exception:  # noqa: BLE001 - the page that read the status must still show it
        log.exception("could not store the status of %s", target.name)


def record_heads(target: Target, heads: list[str] | None, has_table: bool, source: str, error: str = "") -> None:
    """Store heads read from the target's version table (or why they could not be read)."""
    defaults = {"source": source, "observed_at": now(), "error": redact(error)}
    if heads is not None:
        defaults.update(current=sorted(heads), has_version_table=has_table)
    TargetState.objects.update_or_create(target=target, defaults=defaults)


def check_target(target: Target, source: str = TargetState.Source.FLEET_CHECK) -> None:
    """Read one target's version table and store it (connects to the target)."""
    try:
        from migrations_ops.schema.state import live_heads

        heads, has_table = live_heads(target.conn(), target.project.resolved(), "mop:fleet-check")
    except OpsError as exc:
        record_heads(target, None, True, source, error=str(exc))
        return
    record_heads(target, list(heads), has_table, source)


def check_fleet() -> dict[str, int]:
    """Refresh every project's graph and every active target's revision (connects to each target in turn)."""
    counts = {"projects": 0, "targets": 0, "errors": 0}
    for project in AlembicProject.objects.all():
        refresh_graph(project)
        counts["projects"] += 1
    for target in Target.objects.filter(is_active=True).select_related("project"):
        check_target(target)
        counts["targets"] += 1
        counts["errors"] += TargetState.objects.filter(target=target).exclude(error="").exists()
    return counts
