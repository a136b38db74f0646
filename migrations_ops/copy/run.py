"""``copy_database``: the whole copy in one process (tests, the CLI, small files).

The portal fans the same steps out over Celery instead: ``plan_ranges`` once,
``copy_range`` per range as a group, ``finish_copy`` in the chord's callback.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from pathlib import Path

from migrations_ops.errors import Cancelled
from migrations_ops.progress import CancelFn, Progress, ProgressFn, never_cancel, no_progress
from migrations_ops.target import TargetConn, connect

from .finish import finish_copy
from .options import CopyOptions, RangeSpec
from .ranges import application_name, plan_ranges
from .store import release_target_lock, take_target_lock
from .summary import POST_LOAD, CopySummary, with_wall_time
from .writer import RangeResult, copy_range


def copy_database(
    sqlite_path: str | Path,
    target: TargetConn,
    options: CopyOptions | None = None,
    *,
    progress: ProgressFn = no_progress,
    should_cancel: CancelFn = never_cancel,
    copy_id: str | None = None,
) -> CopySummary:
    """Copy a SQLite file into the target: plan, every range, then the post-load phases.

    Holds the target's advisory lock (session level, exclusive) for the whole
    copy, so a second copy or a migration is refused with ``TargetBusy``
    naming this copy's ``application_name``. The summary's phases (planning,
    copy, post-load) add up to the call's wall time. Calling it again with the same
    ``copy_id`` resumes: committed ranges are skipped.

    :param copy_id: stable id of the run (default: a new one); pass the old one to resume.
    """
    opts = options or CopyOptions()
    copy_id = copy_id or uuid.uuid4().hex[:12]
    started = time.time()
    with connect(target, application_name(copy_id), autocommit=True) as lock_conn, ExitStack() as stack:
        take_target_lock(lock_conn)
        try:
            pool = stack.enter_context(_warm_pool(opts.workers)) if opts.workers > 1 else None
            specs = plan_ranges(sqlite_path, target, copy_id, options=opts, lock=False, progress=progress)
            t0 = time.monotonic()
            planned = time.time()
            if pool is not None:
                _copy_parallel(pool, sqlite_path, target, specs, opts, progress, should_cancel)
            else:
                _copy_serial(sqlite_path, target, specs, opts, progress=progress, should_cancel=should_cancel)
            copy_seconds = time.monotonic() - t0
            copied = time.time()
            summary = finish_copy(target, copy_id, progress=progress, copy_seconds=copy_seconds, lock=False)
            return with_wall_time(summary, [("planning", started), ("copy", planned), (POST_LOAD, copied)],
                                  time.time())
        finally:
            release_target_lock(lock_conn)


def _warm_pool(workers: int) -> ProcessPoolExecutor:
    """Start the worker processes (spawned, as Celery's are separate) while the copy is being planned.

    Each one imports the engine once at start, so the planning hides that cost.
    """
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_import_engine)
    for _ in range(workers):
        pool.submit(int)
    return pool


def _import_engine() -> None:
    import migrations_ops.copy.writer  # noqa: F401


def _copy_serial(sqlite_path: str | Path, target: TargetConn, specs: list[RangeSpec], opts: CopyOptions, *,
                 progress: ProgressFn, should_cancel: CancelFn) -> None:
    total = sum(s.est_rows for s in specs)
    done = 0
    for spec in specs:
        base = done

        def relay(p: Progress, base: int = base) -> None:
            progress(Progress(base + p.done, max(total, base + p.done), p.message, p.level, p.step, p.data))

        done += copy_range(sqlite_path, target, spec, opts, progress=relay, should_cancel=should_cancel, lock=False).rows_read


def _copy_parallel(pool: ProcessPoolExecutor, sqlite_path: str | Path, target: TargetConn, specs: list[RangeSpec],
                   opts: CopyOptions, progress: ProgressFn, should_cancel: CancelFn) -> None:
    """Ranges in ``opts.workers`` spawned processes (as Celery workers would); progress per finished range.

    Cancellation is checked as ranges finish: ranges already running complete
    (each is atomic), the rest are not started.
    """
    total = sum(s.est_rows for s in specs)
    done = 0
    futures = [pool.submit(_range_task, str(sqlite_path), target, s.to_dict(), opts.to_dict())
               for s in sorted(specs, key=lambda s: -s.est_rows)]
    for fut in as_completed(futures):
        r = fut.result()
        done += r.rows_read
        progress(Progress(done, max(total, done), f"{r.table}: range done ({r.rows_copied} rows)", step="copy",
                          data={"table": r.table, "rows_per_s": round(r.rows_read / max(r.seconds, 1e-6)),
                                "mb_per_s": round(r.bytes / max(r.seconds, 1e-6) / 1e6, 2)}))
        if should_cancel():
            for f in futures:
                f.cancel()
            raise Cancelled()


def _range_task(sqlite_path: str, target: TargetConn, spec: dict, opts: dict) -> RangeResult:
    return copy_range(sqlite_path, target, RangeSpec.from_dict(spec), CopyOptions.from_dict(opts), lock=False)
