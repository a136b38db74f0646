"""Work a whole-database verification runs beside the checksums, each on a connection of its own.

Why: the checksums of a table keep one SQLite thread pool and one or two target
sessions busy, and leave time on the other side idle while each side waits for
the other. The source's ``PRAGMA foreign_key_check`` (a second of the 1.3 M-row
benchmark file) and the target-only checks (orphaned foreign keys, NULLs,
sequences: an anti-join per foreign key) need neither the checksums nor each
other, so they run in their own threads: SQLite and the server release the GIL.

Each connection follows the rules of the first: the SQLite one is read-only and
interrupted on cancel; the target one is opened by ``open_session`` (read-only,
autocommit, statement and lock timeouts, one statement at a time). A failure
there is raised where the result is taken, so errors keep their types
(``VerifyTimeout``, ``VerifyLockTimeout``, ``SourceUnreadable``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import psycopg

from ..target import TargetConn, connect
from .checks import PgCtx, source_foreign_keys
from .checksum import open_sqlite
from .report import Finding
from .schema import open_session


class SourceOrphans:
    """``source_foreign_keys`` of the file, on its own read-only connection, in its own thread."""

    def __init__(self, path: str, tables: set[str], sample_size: int, cancelled: Callable[[], bool]) -> None:
        self.conn = open_sqlite(path)
        self.conn.set_progress_handler(lambda: 1 if cancelled() else 0, 100_000)
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="mop-verify-source-fks")
        self.future = self.pool.submit(source_foreign_keys, self.conn, tables, sample_size)

    def close(self) -> None:
        if not self.future.done():
            self.conn.interrupt()  # a failure or a cancel elsewhere: the scan stops at once
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.conn.close()


class TargetChecks:
    """A target session of its own for the checks that read only the target, table after table.

    Jobs run in the order they are given (one statement at a time on the
    session); ``close`` stops the rest after a failure or a cancel and
    interrupts the statement in flight.
    """

    def __init__(self, target: TargetConn, app: str, ctx: PgCtx, lock_timeout_ms: int,
                 cancelled: Callable[[], bool]) -> None:
        self.stop = threading.Event()
        self.conn: psycopg.Connection = connect(target, app)
        try:
            open_session(self.conn, ctx.timeout_ms, lock_timeout_ms)
        except BaseException:
            self.conn.close()
            raise
        # the caller's should_cancel is never called from this thread: the run's flag only
        self.ctx = replace(ctx, conn=self.conn, should_cancel=lambda: self.stop.is_set() or cancelled())
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="mop-verify-target-checks")
        self.futures: list[Future[list[Finding]]] = []

    def submit(self, fn: Callable[[PgCtx], list[Finding]]) -> Future[list[Finding]]:
        self.futures.append(self.pool.submit(fn, self.ctx))
        return self.futures[-1]

    def close(self) -> None:
        if not all(f.done() for f in self.futures):  # a failure or a cancel elsewhere: stop here too
            self.stop.set()
            self.pool.shutdown(wait=False, cancel_futures=True)
            try:
                self.conn.cancel_safe(timeout=5)  # the statement in flight, if any
            except psycopg.Error:
                pass
        self.pool.shutdown(wait=True)
        self.conn.close()
