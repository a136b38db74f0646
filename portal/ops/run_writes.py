"""A run's progress writes, batched: many log lines and progress fields per round trip, not two per event.

An upgrade of a long history reports four events per revision (step started, Alembic's line,
applied, committed); written one by one, a 300-revision run spent most of its time in 2,400
single-row writes and commits to the portal database. Here every log line is still kept, with
the time it was reported, and the run row still ends with every field; only the writes are
grouped: the first event after a quiet ``interval`` goes out at once, the others of a burst within
``interval`` (a background thread writes what waits, so a line reported just before a long
statement is visible after at most ``interval``, not when the statement ends), and ``flush()`` /
``close()`` write everything at once. An ``interval`` of 0 writes every event at once, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.db import DatabaseError, InterfaceError, close_old_connections, connection
from django.utils.timezone import now

from .models import Run, RunLog

log = logging.getLogger(__name__)


class BatchedRunWrites:
    """Pending ``RunLog`` rows and ``Run`` fields of one run; written in order, in batches."""

    def __init__(self, run_id: int, interval: float) -> None:
        # The trailing writer has its own connection, which sees only committed rows: a caller inside a
        # transaction (the run row not committed yet) gets every event written at once instead.
        self.run_id, self.interval = run_id, 0.0 if connection.in_atomic_block else interval
        self._lock = threading.Lock()  # guards the pending lists
        self._write_lock = threading.Lock()  # one batch at a time, so lines keep their order
        self._lines: list[RunLog] = []
        self._fields: dict[str, Any] = {}
        self._last_write = 0.0
        self._wake = threading.Event()
        self._closing = threading.Event()  # ends the trailing writer's wait at once
        self._closed = False
        self._thread: threading.Thread | None = None
        if self.interval > 0:
            self._thread = threading.Thread(target=self._trail, name=f"run-writes-{run_id}", daemon=True)
            self._thread.start()

    def add(self, fields: dict[str, Any] | None = None, line: tuple[str, str] | None = None) -> None:
        """Queue run fields (the latest value of each wins) and/or one ``(level, message)`` log line."""
        with self._lock:
            if fields:
                self._fields.update(fields)
            if line is not None:
                self._lines.append(RunLog(run_id=self.run_id, level=line[0], message=line[1], created_at=now()))
        if self._closed or time.monotonic() - self._last_write >= self.interval:
            self.flush()
        else:
            self._wake.set()  # the trailing write

    def flush(self) -> None:
        """Write everything pending now (in the caller's thread and DB connection)."""
        with self._write_lock:
            with self._lock:
                lines, fields = self._lines, self._fields
                self._lines, self._fields = [], {}
            self._last_write = time.monotonic()
            try:
                if lines:
                    RunLog.objects.bulk_create(lines)
                if fields:
                    Run.objects.filter(pk=self.run_id).update(heartbeat_at=now(), **fields)
            except Exception:
                with self._lock:  # put them back in front: the next flush writes them, in order
                    self._lines[:0] = [x for x in lines if x.pk is None]
                    self._fields = {**fields, **self._fields}
                raise

    def close(self) -> None:
        """Stop the background writer and write what is left; later ``add`` calls write at once."""
        self._closed = True
        if self._thread is not None:
            self._closing.set()
            self._wake.set()
            self._thread.join(timeout=self.interval + 30)
        try:
            self.flush()
        except (DatabaseError, InterfaceError) as exc:  # the outcome is still recorded (or tried) after this
            log.warning("last progress of run %s not written: %s", self.run_id, exc, extra={"run_id": self.run_id})

    def _trail(self) -> None:
        """Write what waits once ``interval`` has passed since the last write (own DB connection)."""
        try:
            while not self._closed:
                self._wake.wait()
                self._wake.clear()
                if self._closed:
                    return
                delay = self._last_write + self.interval - time.monotonic()
                if delay > 0 and self._closing.wait(delay):
                    return  # close() writes what is left
                try:
                    close_old_connections()
                    self.flush()
                except (DatabaseError, InterfaceError) as exc:  # the caller's next flush tries again
                    log.warning("progress of run %s not written: %s", self.run_id, exc, extra={"run_id": self.run_id})
        finally:
            connection.close()  # this thread's own connection
