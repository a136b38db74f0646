"""``ops ... --wait`` returns when the run ends, not a poll interval later: the database announces every status change.

The announcement is a trigger on the run table (migration 0011), so a run ended by the worker, the reaper, a
cancel or the admin is heard alike; the command still reads its log lines at least every ``poll`` seconds.
"""

from __future__ import annotations

import io
import threading
import time

import psycopg
import pytest
from django.db import connection

from portal.ops.cli.common import wait
from portal.ops.models import Run, RunLog
from tests.factories import TargetFactory


class _Command:
    def __init__(self) -> None:
        self.stdout = io.StringIO()


@pytest.fixture
def run(transactional_db):
    return Run.objects.create(target=TargetFactory(), operation="upgrade", revision="head",
                              status=Run.Status.RUNNING)


def _dsn() -> str:
    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"],
                                          host=s["HOST"] or None, port=s["PORT"] or None)


def test_a_status_change_is_announced_with_the_run_id_and_other_writes_are_not(run):
    with psycopg.connect(_dsn(), autocommit=True) as listener:
        listener.execute("LISTEN mop_run_status")
        Run.objects.filter(pk=run.pk).update(current_step="r1")  # not a status change: silent
        Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)
        heard = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
        assert heard == [str(run.pk)]
        Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)  # same status again: silent
        assert [n.payload for n in listener.notifies(timeout=0.5)] == []


def test_wait_returns_when_the_run_ends_with_its_last_lines_even_with_a_long_poll(run):
    def end_it() -> None:
        time.sleep(7)  # the wait's naps double from 0.05 s: it now sleeps from 6.35 s to 12.75 s
        RunLog.objects.create(run=run, level="info", message="Step 1/1: upgrade r1")
        Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)

    worker = threading.Thread(target=end_it)
    command = _Command()
    t0 = time.monotonic()
    worker.start()
    ended = wait(command, run, poll=60)  # polling alone would see the end at 12.75 s
    worker.join()
    assert ended.status == Run.Status.SUCCEEDED
    assert time.monotonic() - t0 < 11
    assert "Step 1/1: upgrade r1" in command.stdout.getvalue()
