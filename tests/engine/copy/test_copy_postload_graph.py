"""The post-load job graph: dependencies, skips after a failure, exclusive jobs, and honest phase times."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from migrations_ops.copy.postload import Job, run_graph

LOG: list[str] = []
GUARD = threading.Lock()


def _step(name: str, seconds: float = 0.02, fail: bool = False):
    def run(c: psycopg.Connection) -> str:
        c.execute("SELECT 1")  # each job gets a live connection of its own worker
        with GUARD:
            LOG.append(f"start {name}")
        time.sleep(seconds)
        with GUARD:
            LOG.append(f"end {name}")
        if fail:
            raise psycopg.errors.UniqueViolation("duplicate key")
        return name

    return run


def test_it_runs_jobs_after_what_they_need_and_skips_what_a_failure_blocks(target_db) -> None:
    LOG.clear()
    jobs = [
        Job("big", "indexes", _step("big", 0.2), cost=10),
        Job("bad", "indexes", _step("bad", fail=True), cost=5),
        Job("small", "indexes", _step("small"), cost=1),
        Job("after-bad", "foreign keys", _step("after-bad"), after={"bad"}),
        Job("waits-bad", "foreign keys", _step("waits-bad"), waits={"bad"}),
        Job("a1", "analyze", _step("a1", 0.05), after={"big"}, exclusive="x"),
        Job("a2", "analyze", _step("a2", 0.05), after={"big"}, exclusive="x"),
    ]
    t0 = time.monotonic()
    graph = run_graph(target_db, "graph-test", jobs, 2)
    assert graph.jobs["after-bad"].skipped and graph.jobs["after-bad"].ended == 0
    assert isinstance(graph.jobs["bad"].error, psycopg.errors.UniqueViolation)
    assert graph.jobs["waits-bad"].result == "waits-bad", "an ended job, even failed, releases who only waits"
    # two connections: the two costliest jobs are taken first (which one logs first is up to the threads)
    assert {LOG[0], LOG[1]} == {"start big", "start bad"}, "the costliest jobs start first"
    assert LOG.index("end big") < LOG.index("start a1") and LOG.index("end big") < LOG.index("start a2")
    first, second = sorted(("a1", "a2"), key=lambda n: LOG.index(f"start {n}"))
    assert LOG.index(f"end {first}") < LOG.index(f"start {second}"), "exclusive jobs never overlap"
    assert LOG.index("start small") < LOG.index("end big"), "the second connection works while the big job runs"
    from migrations_ops.copy.postload import phase_times

    phases = phase_times(graph, t0, ("indexes", "foreign keys", "analyze"))
    assert [p for p, _ in phases] == ["indexes", "foreign keys", "analyze"]
    assert sum(s for _, s in phases) == pytest.approx(max(j.ended for j in jobs if j.ended) - t0)
    assert all(s >= 0 for _, s in phases)


def test_a_dependency_cycle_leaves_its_jobs_skipped_not_hanging(target_db) -> None:
    jobs = [Job("x", "indexes", _step("x"), after={"y"}), Job("y", "indexes", _step("y"), after={"x"}),
            Job("z", "indexes", _step("z"))]
    graph = run_graph(target_db, "graph-cycle", jobs, 2)
    assert graph.jobs["z"].result == "z" and graph.jobs["x"].skipped and graph.jobs["y"].skipped


def test_a_bug_in_a_job_stops_the_graph_and_is_raised(target_db) -> None:
    def broken(c: psycopg.Connection) -> None:
        raise KeyError("not a database error")

    jobs = [Job("broken", "indexes", broken, cost=5), Job("later", "analyze", _step("later"), after={"broken"}),
            Job("other", "indexes", _step("other", 0.1), cost=1)]
    with pytest.raises(KeyError, match="not a database error"):
        run_graph(target_db, "graph-bug", jobs, 2)
