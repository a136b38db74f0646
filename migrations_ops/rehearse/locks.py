"""Sample the locks a rehearsal backend holds while a step runs (``pg_locks``, every few milliseconds)."""

from __future__ import annotations

import threading

import psycopg

from .. import queries
from ..target import TargetConn, connect


class LockSampler(threading.Thread):
    """Polls the locks of the backend named ``application_name``; ``seen[step]`` is a set of (relation, mode)."""

    def __init__(self, scratch: TargetConn, application_name: str, interval_s: float = 0.02) -> None:
        super().__init__(name="mop-rehearse-locks", daemon=True)
        self.scratch, self.app, self.interval = scratch, application_name, interval_s
        self.step: str | None = None
        self.seen: dict[str, set[tuple[str, str]]] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            with connect(self.scratch, "mop:rehearse:locks") as conn:
                query = queries.get("rehearse_backend_locks")
                while not self.stopped.wait(self.interval):
                    step = self.step
                    if step is None:
                        continue
                    for relation, mode in conn.execute(query, {"app": self.app}).fetchall():
                        self.seen.setdefault(step, set()).add((relation, mode))
        except psycopg.Error:
            return  # the scratch database went away: the samples taken so far stand

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)

    def locks_of(self, step: str) -> list[dict[str, str]]:
        return [{"relation": r, "mode": m} for r, m in sorted(self.seen.get(step, ()))]
