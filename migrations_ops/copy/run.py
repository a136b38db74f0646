"""``copy_database``: the whole copy in one process (tests, the CLI, small files).

The portal fans the same steps out over Celery instead: ``plan_ranges`` once,
``copy_range`` per range as a group, ``finish_copy`` in the chord's callback.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from migrations_ops.progress import CancelFn, Progress, ProgressFn, never_cancel, no_progress
from migrations_ops.target import TargetConn, connect

from .finish import finish_copy
from .options import CopyOptions
from .ranges import application_name, plan_ranges
from .store import release_target_lock, take_target_lock
from .summary import CopySummary
from .writer import copy_range


def copy_database(
    sqlite_path: str | Path,
    target: TargetConn,
    options: CopyOptions | None = None,
    progress: ProgressFn = no_progress,
    should_cancel: CancelFn = never_cancel,
    *,
    copy_id: str | None = None,
) -> CopySummary:
    """Copy a SQLite file into the target: plan, every range, then the post-load phases.

    Holds the target's advisory lock (session level, exclusive) for the whole
    copy, so a second copy or a migration is refused with ``TargetBusy``
    naming this copy's ``application_name``. Calling it again with the same
    ``copy_id`` resumes: committed ranges are skipped.

    :param copy_id: stable id of the run (default: a new one); pass the old one to resume.
    """
    opts = options or CopyOptions()
    copy_id = copy_id or uuid.uuid4().hex[:12]
    with connect(target, application_name(copy_id), autocommit=True) as lock_conn:
        take_target_lock(lock_conn)
        try:
            specs = plan_ranges(sqlite_path, target, copy_id, options=opts, lock=False, progress=progress)
            total = sum(s.est_rows for s in specs)
            done = 0
            t0 = time.monotonic()
            for spec in specs:
                base = done

                def relay(p: Progress, base: int = base) -> None:
                    progress(Progress(base + p.done, max(total, base + p.done), p.message, p.level, p.step, p.data))

                r = copy_range(sqlite_path, target, spec, opts, relay, should_cancel, lock=False)
                done += r.rows_read
            copy_seconds = time.monotonic() - t0
            return finish_copy(target, copy_id, progress, copy_seconds=copy_seconds, lock=False)
        finally:
            release_target_lock(lock_conn)
