"""Rehearse a plan on a scratch clone of the target: up, down to the start, up again, and compare schemas.

The steps of ``rehearse_plan``:

1. start pg_dump of the target's schema; meanwhile read its version rows and
   claim a spare scratch database on the rehearsal server (else create one;
   dropped at the end whatever happens, the reaper catches a killed worker's);
2. load the dump and the version rows into it; with ``with_data``, copy up
   to N rows per table (``sample.py``);
3. in one run session (the runner the real run uses): snapshot the schema
   (``before``), run the plan (``first``), sampling the backend's locks
   while a step runs;
   and snapshotting after every committed step (a ``pass`` downgrade hidden
   by a later ``drop_table`` shows only step by step);
4. run the inverse back to the starting heads, one or several (``back``):
   after each down step, compare with the schema before that revision's up
   step, which names the revision whose downgrade does not undo its upgrade;
5. run the plan again (``again``); compare ``back`` with ``before`` and
   ``again`` with ``first``. Any difference or failed step fails the rehearsal;
6. drop the scratch database (after ``on_report``) and make the next spare.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack

import psycopg

from ..errors import OpsError, PlanError
from ..progress import Progress, ProgressFn, no_progress
from ..schema.project import ProjectSource, ResolvedProject
from ..schema.runner import RunSession, application_name, run_session
from ..schema.state import read_heads
from ..schema_snapshot import SchemaSnapshot, diff, take_snapshot
from ..scratch import scratch_database
from ..target import TargetConn, connect
from .clone import SchemaDump, load_schema
from .locks import LockSampler
from .report import PhaseReport, RehearsalReport, StepReport
from .sample import copy_sample


def inverse(operation: str, from_heads: Sequence[str]) -> tuple[str, str]:
    """The operation and revision that bring a target back to ``from_heads``.

    Several heads go back as one destination naming them all (``downgrade a b``
    undoes every applied revision that is not an ancestor of one of them).

    >>> inverse("upgrade", ())
    ('downgrade', 'base')
    >>> inverse("downgrade", ("abc",))
    ('upgrade', 'abc')
    >>> inverse("upgrade", ("b2r", "b2l"))
    ('downgrade', 'b2l b2r')
    """
    back = " ".join(sorted(from_heads)) if from_heads else "base"
    if operation == "upgrade":
        return "downgrade", back
    if operation == "downgrade":
        return "upgrade", back
    raise PlanError(f"Only upgrades and downgrades are rehearsed, not {operation}")


class _Phase:
    """Runs one phase and turns the runner's progress into step reports, snapshots and lock samples."""

    def __init__(self, name: str, session: RunSession, sampler: LockSampler, version_table: str,
                 progress: ProgressFn, snapshots: psycopg.Connection | None) -> None:
        self.name, self.session, self.sampler = name, session, sampler
        self.snapshots = snapshots  # None: no per-step snapshot
        self.version_table, self.progress = version_table, progress
        self.after: dict[str, SchemaSnapshot] = {}  # revision -> schema right after its step committed
        self.report: PhaseReport | None = None
        self.current: StepReport | None = None

    def _on_progress(self, p: Progress) -> None:
        event = p.data.get("event")
        if event == "step_started" and p.step and self.report is not None:
            self.current = StepReport(p.step, "")
            self.report.steps.append(self.current)
            self.sampler.step = f"{self.name}:{p.step}"
        elif event == "step_committed" and p.step and self.current is not None:
            self.sampler.step = None
            self.current.seconds = round(float(p.data.get("seconds", 0)), 3)
            self.current.locks = self.sampler.locks_of(f"{self.name}:{p.step}")
            if self.snapshots is not None:
                self.after[p.step] = take_snapshot(self.snapshots, self.version_table)
        self.progress(Progress(p.done, p.total, f"[{self.name}] {p.message}", p.level, p.step, p.data))

    def last_state(self) -> SchemaSnapshot | None:
        """The schema after the phase when it ended with a committed step (its snapshot); None otherwise."""
        if self.report is None or not self.report.ok or not self.report.steps:
            return None
        return self.after.get(self.report.steps[-1].revision)

    def run(self, operation: str, revision: str) -> PhaseReport:
        self.report = PhaseReport(self.name, operation, revision)
        started = time.monotonic()
        try:
            self.session.run(operation, revision, lock_retries=0, progress=self._on_progress)
        except OpsError as exc:
            self.report.ok, self.report.error = False, str(exc)
            self.report.error_revision = exc.fields.get("revision")
            if self.current is not None and self.current.seconds is None:
                self.current.ok, self.current.error = False, str(exc)
                self.current.locks = self.sampler.locks_of(f"{self.name}:{self.current.revision}")
        self.sampler.step = None
        self.report.seconds = round(time.monotonic() - started, 3)
        for step in self.report.steps:
            step.direction = "down" if operation == "downgrade" else "up"
        return self.report


def rehearse_plan(
    target: TargetConn,
    server: TargetConn,
    project: ResolvedProject | ProjectSource,
    operation: str,
    revision: str,
    from_heads: Sequence[str],
    *,
    rehearsal_id: int | str,
    with_data: int = 0,
    sample_timeout_ms: int = 30000,
    progress: ProgressFn = no_progress,
    on_report: Callable[[RehearsalReport], None] | None = None,
) -> RehearsalReport:
    """Rehearse ``operation`` to ``revision`` on a scratch clone of ``target`` made on ``server``.

    :param target: read only (schema dump, version rows, samples); never written.
    :param server: the rehearsal server; its role needs CREATEDB.
    :param from_heads: where the plan starts (the target's heads when it was planned); one or several.
    :param with_data: rows per table to copy from the target (0: schema only).
    :param on_report: called with the finished report before the scratch database is dropped and the next
        spare made, so the caller can store the result while the cleanup still runs.
    """
    from ..schema.alembic_env import as_resolved

    resolved = as_resolved(project)
    return _rehearse(target, server, resolved, (operation, revision), inverse(operation, from_heads), rehearsal_id,
                     with_data, sample_timeout_ms, progress, on_report=on_report)


def _rehearse(target: TargetConn, server: TargetConn, resolved: ResolvedProject, forward: tuple[str, str],
              back: tuple[str, str], rehearsal_id: int | str, with_data: int, sample_timeout_ms: int,
              progress: ProgressFn, *, on_report: Callable[[RehearsalReport], None] | None) -> RehearsalReport:
    """One rehearsal on one scratch clone.

    Steps: 1 start pg_dump of the target and read its version rows meanwhile,
    2 claim a spare scratch database (else create one), 3 load the dump,
    4 copy the sample, 5 the three phases in one run session, 6 drop the
    scratch database and make the next spare.
    """
    vt, vts = resolved.source.version_table, resolved.source.version_table_schema
    started = time.monotonic()
    with connect(target, "mop:rehearse:heads") as src:
        dump = SchemaDump(target, int(src.info.server_version))
        try:
            heads = read_heads(src, vt, vts) or ()
        except BaseException:
            dump.abandon()
            raise
    with ExitStack() as stack:
        stack.callback(dump.abandon)  # a no-op once the dump was read
        scratch = stack.enter_context(scratch_database(server, "rehearse", spare=True))
        report = RehearsalReport(server=server.where(), scratch=scratch.dbname, with_data=with_data)
        tag = f"rehearse-{rehearsal_id}"
        sampler = LockSampler(scratch, application_name(tag))
        sampler.start()  # connects while pg_dump works
        stack.callback(sampler.stop)
        snapshots = stack.enter_context(connect(scratch, "mop:rehearse:snapshot"))
        # The run session (scripts imported, advisory lock, blocker watch) opens while pg_dump still works:
        # nothing in it depends on the schema, which each plan reads when it starts.
        session = stack.enter_context(run_session(scratch, resolved, run_id=tag))
        load_schema(snapshots, dump.text(), heads, version_table=vt, version_table_schema=vts,
                    password=scratch.password)
        report.clone_seconds = round(time.monotonic() - started, 3)
        progress(Progress(0, 0, f"Schema of {target.where()} cloned into {scratch.dbname} "
                                f"in {report.clone_seconds:.2f} s"))
        if with_data:
            report.sample = copy_sample(target, scratch, with_data, statement_timeout_ms=sample_timeout_ms,
                                        version_table=vt).to_json()
            progress(Progress(0, 0, f"Sample of up to {with_data} rows per table copied "
                                    f"({sum(report.sample['rows'].values())} rows)"))
        _three_phases(report, session, sampler, vt, progress, forward, back, snapshots)
        sampler.stop()
        report.seconds = round(time.monotonic() - started, 3)
        if on_report is not None:
            on_report(report)
    return report


def _three_phases(report: RehearsalReport, session: RunSession, sampler: LockSampler, vt: str,
                  progress: ProgressFn, forward: tuple[str, str], back: tuple[str, str],
                  snapshots: psycopg.Connection) -> None:
    before = take_snapshot(snapshots, vt)
    first = _Phase("first", session, sampler, vt, progress, snapshots)
    report.phases.append(first.run(*forward))
    if not first.report.ok:  # type: ignore[union-attr]
        report.problems.append(f"The plan failed at revision {first.report.error_revision}: "  # type: ignore[union-attr]
                               f"{first.report.error}")  # type: ignore[union-attr]
        return
    after_first = first.last_state() or take_snapshot(snapshots, vt)
    # The schema before each revision's step: the snapshot after the step before it.
    before_step: dict[str, SchemaSnapshot] = {}
    prev = before
    for step in first.report.steps:  # type: ignore[union-attr]
        before_step[step.revision] = prev
        prev = first.after.get(step.revision, prev)
    undo = _Phase("back", session, sampler, vt, progress, snapshots)
    report.phases.append(undo.run(*back))
    for step in undo.report.steps:  # type: ignore[union-attr]
        if step.revision in undo.after and step.revision in before_step:
            step.not_undone = diff(before_step[step.revision], undo.after[step.revision]).lines()
    after_back = undo.last_state() or take_snapshot(snapshots, vt)
    back_diff = diff(before, after_back)
    report.down_vs_before = back_diff.to_json()
    if not undo.report.ok:  # type: ignore[union-attr]
        report.problems.append(f"Going back failed at revision {undo.report.error_revision}: "  # type: ignore[union-attr]
                               f"{undo.report.error}")  # type: ignore[union-attr]
    for step in undo.report.steps:  # type: ignore[union-attr]
        if step.not_undone:
            report.problems.append(f"The {step.direction}grade of revision {step.revision} does not undo it: "
                                   + "; ".join(step.not_undone))
    if not back_diff.equal and not any(s.not_undone for s in undo.report.steps):  # type: ignore[union-attr]
        report.problems.append("After going back the schema differs from before: " + "; ".join(back_diff.lines()))
    again = _Phase("again", session, sampler, vt, progress, None)
    report.phases.append(again.run(*forward))
    if not again.report.ok:  # type: ignore[union-attr]
        report.problems.append(f"The plan failed the second time at revision {again.report.error_revision}: "  # type: ignore[union-attr]
                               f"{again.report.error}")  # type: ignore[union-attr]
        return
    again_diff = diff(after_first, take_snapshot(snapshots, vt))
    report.up_again_vs_up = again_diff.to_json()
    if not again_diff.equal:
        report.problems.append("The second run left a different schema than the first: "
                               + "; ".join(again_diff.lines()))
