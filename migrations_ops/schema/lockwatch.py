"""Name the session that blocks a migration, while it is still blocking.

After ``lock_timeout`` fires, the blocker may have moved on and the lock
graph no longer shows who it was; so a small thread with its own autocommit
connection samples ``pg_blocking_pids(<our pid>)`` while our backend waits on
a lock, and the runner reads the last sample when ``LockNotAvailable`` arrives.

Sampling cannot be done after the fact: once ``lock_timeout`` fires our backend
no longer waits, so ``pg_blocking_pids`` has nothing to say, and the error does
not name the relation for relation-level waits (only tuple waits get a
CONTEXT line), so ``pg_locks`` cannot be asked either. What can be closed is
the start-up gap: ``__enter__`` waits (briefly) until the watch has connected
and taken its first sample, so a migration that blocks on its very first
statement is watched from the start, even on a target slow to connect.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from psycopg.rows import kwargs_row

from .. import queries
from ..locks.models import Snapshot
from ..locks.snapshot import read_snapshot
from ..target import TargetConn, connect


@dataclass(frozen=True, slots=True)
class BlockingBackend:
    """A backend that holds a lock our migration waits for."""

    pid: int
    application_name: str | None
    state: str | None
    query: str | None
    usename: str | None


READY_TIMEOUT_S = 2.0  # how long a run waits for its watch to connect before going ahead anyway


class BlockerWatch:
    """Sample our backend's blockers every ``interval`` seconds until closed."""

    def __init__(self, target: TargetConn, application_name: str, pid: int, interval: float,
                 ready_timeout: float = READY_TIMEOUT_S) -> None:
        self._target = target
        self._app = application_name
        self._pid = pid
        self._interval = interval
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._ready_timeout = ready_timeout
        self._lock = threading.Lock()
        self._seen: tuple[float, tuple[BlockingBackend, ...]] | None = None
        # The whole picture (tree, summary, long transactions) when the blockers changed,
        # so a run that fails on lock_timeout shows what was blocking *at that moment*.
        self._picture: tuple[float, Snapshot] | None = None
        self._thread = threading.Thread(target=self._run, name=f"blockers-{pid}", daemon=True)

    def __enter__(self) -> BlockerWatch:
        self._thread.start()
        self._ready.wait(self._ready_timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def blockers_since(self, since: float) -> tuple[BlockingBackend, ...]:
        """The last blockers seen after monotonic time ``since`` (empty if none)."""
        with self._lock:
            if self._seen is None or self._seen[0] < since:
                return ()
            return self._seen[1]

    def snapshot_since(self, since: float) -> Snapshot | None:
        """The activity snapshot taken while our backend waited, after ``since`` (None if none)."""
        with self._lock:
            if self._picture is None or self._picture[0] < since:
                return None
            return self._picture[1]

    def _run(self) -> None:
        try:
            self._watch()
        finally:
            self._ready.set()  # never keep the run waiting for a watch that gave up

    def _watch(self) -> None:
        try:
            conn = connect(self._target, self._app, autocommit=True)
        except Exception:  # noqa: BLE001 - diagnostics must never fail the run
            return
        with conn:
            cur = conn.cursor(row_factory=kwargs_row(BlockingBackend))
            last_pids: set[int] = set()
            while not self._stop.is_set():
                try:
                    rows = tuple(cur.execute(queries.get("run_blockers"), {"pid": self._pid}).fetchall())
                except Exception:  # noqa: BLE001
                    return
                pids = {r.pid for r in rows}
                if rows:
                    with self._lock:
                        self._seen = (time.monotonic(), rows)
                    if pids != last_pids:  # a new wait, or new blockers: take the picture now
                        self._take_picture(conn)
                last_pids = pids
                self._ready.set()
                self._stop.wait(self._interval)


    def _take_picture(self, conn: object) -> None:
        """Snapshot the target's activity while the wait is on (a few ms; only when blockers change)."""
        try:
            picture = read_snapshot(conn, self._target.where())  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - diagnostics must never fail the run
            return
        with self._lock:
            self._picture = (time.monotonic(), picture)


def poll_interval(lock_timeout_ms: int) -> float:
    """Sample at least ~4 times within lock_timeout, but not more often than every 20 ms.

    >>> poll_interval(1000), poll_interval(40), poll_interval(60000)
    (0.25, 0.02, 0.25)
    """
    return max(0.02, min(lock_timeout_ms / 4000, 0.25))
