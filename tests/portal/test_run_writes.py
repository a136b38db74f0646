"""A run's progress writes are batched, yet every line is kept, in order, and a waiting line shows up soon."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from portal.ops.models import Run, RunLog
from portal.ops.run_writes import BatchedRunWrites
from tests.factories import TargetFactory
from tests.polling import wait_for


@pytest.fixture
def run(transactional_db):
    return Run.objects.create(target=TargetFactory(), operation="upgrade", revision="head",
                              status=Run.Status.RUNNING)


def lines(run) -> list[str]:
    return list(RunLog.objects.filter(run=run).order_by("id").values_list("message", flat=True))


def test_a_burst_is_written_in_few_batches_with_every_line_in_order(run, monkeypatch):
    batches: list[int] = []
    original = RunLog.objects.bulk_create

    def counting(objs, *a, **kw):
        batches.append(len(objs))
        return original(objs, *a, **kw)

    monkeypatch.setattr(RunLog.objects, "bulk_create", counting)
    writes = BatchedRunWrites(run.pk, 5.0)  # longer than the burst takes: the first line, then the rest at close
    reported = []
    for i in range(200):
        reported.append(time.time())
        writes.add({"steps_done": i + 1, "current_step": f"r{i}"}, ("info", f"line {i}"))
    reported.append(time.time())
    writes.close()

    assert lines(run) == [f"line {i}" for i in range(200)]
    assert batches == [1, 199]  # not one write per line
    stamps = [t.timestamp() for t in RunLog.objects.filter(run=run).order_by("id").values_list("created_at", flat=True)]
    for i, stamp in enumerate(stamps):  # the time each line was reported, not the time its batch was written
        assert reported[i] - 0.001 <= stamp <= reported[i + 1] + 0.001
    run.refresh_from_db()
    assert run.steps_done == 200 and run.current_step == "r199" and run.heartbeat_at is not None


def test_a_line_reported_before_a_long_silence_is_written_within_the_interval(run):
    writes = BatchedRunWrites(run.pk, 2.0)
    writes.add({"current_step": "r1"}, ("info", "Step 1/2: upgrade r1"))  # first: written at once
    writes.add({"current_step": "r2"}, ("info", "Step 2/2: upgrade r2"))  # within the interval: waits
    assert lines(run) == ["Step 1/2: upgrade r1"]
    # Nothing more is reported (a long statement runs): the background writer writes it, no close() needed.
    wait_for(lambda: Run.objects.get(pk=run.pk).current_step == "r2", 30, interval=0.02, what="the trailing write")
    assert lines(run) == ["Step 1/2: upgrade r1", "Step 2/2: upgrade r2"]
    writes.close()
    writes.add(line=("info", "Run succeeded"))  # after close: at once
    assert lines(run)[-1] == "Run succeeded"


def test_no_interval_writes_every_event_at_once(run):
    writes = BatchedRunWrites(run.pk, 0.0)
    for i in range(3):
        writes.add({"steps_done": i + 1}, ("warning", f"w{i}"))
        assert lines(run)[-1] == f"w{i}" and Run.objects.get(pk=run.pk).steps_done == i + 1
    writes.close()


def test_inside_a_transaction_it_writes_at_once_on_the_callers_connection(run):
    with transaction.atomic():
        writes = BatchedRunWrites(run.pk, 0.5)
        assert writes.interval == 0.0  # a second connection could not see uncommitted rows
        writes.add({"current_step": "r1"}, ("info", "a"))
        writes.add({"current_step": "r2"}, ("info", "b"))
        assert lines(run) == ["a", "b"] and Run.objects.get(pk=run.pk).current_step == "r2"
        writes.close()
