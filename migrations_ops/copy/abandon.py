"""``abandon_copy``: give up a stopped copy so the target accepts new ones, with its schema whole again.

A copy stopped by ``TooManyRejects``, a cancel or a kill stays ``running``:
its plan, checkpoints and saved DDL are what a resume needs, and
``plan_ranges`` refuses a new copy (``CopyInProgress``) while it is open.
When the DBA decides not to resume, this closes it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from migrations_ops.progress import Progress, ProgressFn, no_progress
from migrations_ops.target import TargetConn, connect

from . import restore
from .errors import CopyNotAbandonable, UnknownCopy
from .options import CopyOptions
from .ranges import application_name
from .sqlfiles import q
from .store import release_target_lock, take_target_lock


@dataclass(frozen=True, slots=True)
class AbandonReport:
    """What ``abandon_copy`` did; JSON-serialisable with ``to_dict()``.

    :param restored: ``kind:table.name`` of each definition put back now.
    :param failed: ``(kind, table, name, error)`` of those that could not be (still saved).
    :param foreign_keys_not_valid: foreign keys put back NOT VALID (never validated here).
    """

    copy_id: str
    note: str
    previous_status: str
    ranges_committed: int
    rows_loaded: int
    rows_rejected: int
    reject_records: int
    restored: tuple[str, ...]
    failed: tuple[tuple[str, str, str, str], ...]
    foreign_keys_not_valid: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def abandon_copy(target: TargetConn, copy_id: str, actor_note: str, *, progress: ProgressFn = no_progress) -> AbandonReport:
    """Abandon a stopped copy: restore the DDL it dropped, mark it abandoned, keep its rows and rejects.

    Steps: 1 validate the note and take the target's lock exclusively (a copy
    whose ranges are still running holds it, so this raises ``TargetBusy``
    rather than pull DDL from under them); 2 rebuild the dropped indexes and
    deferred keys (parallel, as ``finish_copy``) and put foreign keys back
    NOT VALID, with no orphan check or validation: the loaded data is partial
    by definition; 3 mark the copy ``abandoned`` with the note, so new copies
    can start and late range tasks of this one refuse to run
    (``CopyAbandoned``). Rows already loaded and the rejects stay where they
    are. A definition that cannot be restored (e.g. a unique key over
    duplicate rows) is reported in ``failed`` and stays saved; calling this
    again on the abandoned copy retries it.

    :param actor_note: who abandons it and why (stored in ``mop.copy_run.note``).
    """
    if not actor_note.strip():
        raise ValueError("actor_note must say who abandons the copy and why")
    with connect(target, application_name(copy_id), autocommit=True) as conn:
        take_target_lock(conn)
        try:
            row = conn.execute(q("copy_run_get"), {"copy_id": copy_id}).fetchone() \
                if conn.execute(q("copy_store_exists")).fetchone()[0] else None  # type: ignore[index]
            if row is None:
                raise UnknownCopy(copy_id)
            status = str(row[2])
            if status == "finished":
                raise CopyNotAbandonable(copy_id, status)
            opts = CopyOptions.from_dict(row[1])
            progress(Progress(0, 3, "Rebuilding dropped indexes and keys", step="indexes"))
            built, failed = restore.build_indexes(target, copy_id, opts.index_workers, opts.maintenance_work_mem)
            attached, not_attached = restore.attach_constraints(conn, copy_id)
            progress(Progress(1, 3, "Putting foreign keys back NOT VALID", step="foreign keys"))
            fks, fk_failed = restore.add_fks_not_valid(conn, copy_id)
            conn.execute(q("copy_run_abandon"), {"copy_id": copy_id, "note": actor_note})
            ranges, rows, rejected = conn.execute(q("copy_progress_totals"), {"copy_id": copy_id}).fetchone()  # type: ignore[misc]
            records = conn.execute(q("copy_reject_count"), {"copy_id": copy_id}).fetchone()[0]  # type: ignore[index]
        finally:
            release_target_lock(conn)
    report = AbandonReport(
        copy_id, actor_note, status, int(ranges), int(rows), int(rejected), int(records),
        tuple(built + attached + [f"fk:{s.table}.{s.name}" for s in fks]),
        tuple((f.kind, f.table, f.name, f.error) for f in failed + not_attached + fk_failed),
        tuple(f"{s.table}.{s.name}" for s in fks),
    )
    progress(Progress(3, 3, f"Copy {copy_id} abandoned", step="done", data=report.to_dict()))
    return report
