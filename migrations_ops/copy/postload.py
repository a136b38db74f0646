"""The post-load work as a graph of jobs run on a few connections, so no connection idles between phases.

After the load, everything left is server CPU: index builds, re-attaching
keys, foreign keys, ANALYZE. Run phase after phase, a 2-core server idled in
each phase's tail (the 1.7 s text index of the biggest table building alone,
then one connection checking a foreign key while the other had nothing to
do). Here each piece is a job with the jobs it waits for; ``index_workers``
threads take the biggest ready job each time. Dependencies follow the locks:
a table's keys are attached after all its indexes, a foreign key is added
after both its tables have their keys, checked after it is added, the table
analyzed after its foreign keys are checked (VALIDATE and ANALYZE take the
same self-conflicting lock), and a parent is analyzed only after every
foreign key pointing at it was added. Foreign keys are added one at a time,
so two tables referencing each other cannot deadlock.

A job that fails records its error; the jobs that needed it are skipped and
stay pending in ``mop.copy_saved_ddl``, so running ``finish_copy`` again
picks them up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from migrations_ops.target import TargetConn, connect

from .ranges import application_name

JobFn = Callable[[psycopg.Connection], Any]


@dataclass(eq=False)
class Job:
    """One unit of post-load work; ``phase`` names it in the summary, ``cost`` orders ready jobs."""

    name: str
    phase: str
    run: JobFn
    cost: int = 0
    after: set[str] = field(default_factory=set)
    """Jobs that must have succeeded (if one failed, this one is skipped)."""
    waits: set[str] = field(default_factory=set)
    """Jobs that must have ended, whatever their outcome (they hold locks this one would wait for)."""
    exclusive: str | None = None
    """Jobs sharing this tag never run at the same time."""
    label: tuple[str, str] = ("", "")
    """``(table, object)`` the job restores, to name it when it fails or is skipped."""
    result: Any = None
    error: BaseException | None = None
    skipped: bool = False
    started: float = 0.0
    ended: float = 0.0


class Graph:
    """Jobs by name, and the bookkeeping of which ran, failed or were skipped."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = {j.name: j for j in jobs}
        for j in jobs:
            j.after &= self.jobs.keys()  # a dependency on work that does not exist is no dependency
            j.waits = (j.waits & self.jobs.keys()) - {j.name}
        self.pending = list(jobs)
        self.running: set[str] = set()
        self.done: set[str] = set()
        self.ended: set[str] = set()
        self.cond = threading.Condition()
        self.rank = self._ranks()

    def _ranks(self) -> dict[str, int]:
        """Each job's cost plus the costliest chain of jobs waiting on it: ready jobs are taken by rank.

        Critical-path list scheduling: the small index on a parent table that a
        big table's orphan count waits for outranks a bigger index nobody waits for.
        """
        below: dict[str, set[str]] = {n: set() for n in self.jobs}
        for j in self.jobs.values():
            for dep in j.after | j.waits:
                below[dep].add(j.name)
        rank: dict[str, int] = {}

        def walk(name: str, seen: frozenset[str]) -> int:
            if name not in rank:
                nxt = [walk(d, seen | {name}) for d in below[name] if d not in seen]
                rank[name] = self.jobs[name].cost + max(nxt, default=0)
            return rank[name]

        for n in self.jobs:
            walk(n, frozenset())
        return rank

    def _ready(self, j: Job) -> bool:
        if j.exclusive and any(self.jobs[r].exclusive == j.exclusive for r in self.running):
            return False
        return j.after <= self.done and j.waits <= self.ended

    def _blocked_forever(self, j: Job) -> bool:
        return any(self.jobs[a].error is not None or self.jobs[a].skipped for a in j.after)

    def take(self) -> Job | None:
        """The ready job of highest rank (waiting while jobs run), or None when nothing is left to run."""
        with self.cond:
            while True:
                for j in [j for j in self.pending if self._blocked_forever(j)]:
                    j.skipped = True
                    self.pending.remove(j)
                    self.ended.add(j.name)
                ready = [j for j in self.pending if self._ready(j)]
                if ready:
                    job = max(ready, key=lambda j: (self.rank[j.name], j.cost))
                    self.pending.remove(job)
                    self.running.add(job.name)
                    return job
                if not self.pending or not self.running:
                    return None
                self.cond.wait()

    def finish(self, job: Job) -> None:
        with self.cond:
            self.running.discard(job.name)
            self.ended.add(job.name)
            if job.error is None:
                self.done.add(job.name)
            self.cond.notify_all()


def run_graph(target: TargetConn, copy_id: str, jobs: list[Job], workers: int,
              setup: JobFn | None = None, on_done: Callable[[Job, int, int], None] | None = None) -> Graph:
    """Run the jobs on ``workers`` connections; return the graph with each job's result, error or skip.

    ``psycopg.Error`` in a job is recorded on the job; any other exception
    stops the workers and is raised here.
    """
    graph = Graph(jobs)
    stop = threading.Event()  # set by a worker that breaks: the others take no new job
    finished = [0]

    def work() -> None:
        try:
            with connect(target, application_name(copy_id), autocommit=True) as c:
                if setup is not None:
                    setup(c)
                while not stop.is_set() and (job := graph.take()) is not None:
                    _run_one(job, c)
        except BaseException:
            stop.set()
            raise  # run_threads hands it to the caller's thread

    def _run_one(job: Job, c: psycopg.Connection) -> None:
        job.started = time.monotonic()
        try:
            job.result = job.run(c)
        except psycopg.Error as exc:
            job.error = exc
        except BaseException as exc:
            job.error = exc
            raise
        finally:
            job.ended = time.monotonic()
            graph.finish(job)
        with graph.cond:
            finished[0] += 1
            n = finished[0]
        if on_done is not None:
            on_done(job, n, len(jobs))

    run_threads(min(workers, len(jobs)), work, "mop-postload")
    for j in graph.pending:  # only a dependency cycle leaves jobs behind
        j.skipped = True
    return graph


def phase_times(graph: Graph, start: float, order: tuple[str, ...]) -> list[tuple[str, float]]:
    """Seconds per phase as the time from the previous phase's last job to this one's last job.

    The phases overlap, so their own spans would add up to more than the wall
    time; attributing each stretch of wall time to the phase that was still
    finishing keeps the sum equal to the post-load time, as in pgloader's summary.
    """
    out, mark = [], start
    for phase in order:
        ends = [j.ended for j in graph.jobs.values() if j.phase == phase and j.ended]
        end = max([mark, *ends])
        out.append((phase, end - mark))
        mark = end
    return out


def run_threads(n: int, work: Callable[[], None], name: str) -> None:
    """Run ``work`` in ``n`` threads (at least one) and re-raise the first exception one of them raised."""
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, name=f"{name}-{i}") for i in range(max(1, n))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
