"""The reaper marks runs whose heartbeat stopped as interrupted, and leaves live ones alone."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils.timezone import now

from portal.ops import lifecycle
from portal.ops.models import AuditEvent, Run
from tests.engine.alembic_factory import linear
from tests.factories import AlembicProjectFactory, RunFactory, target_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(make_database, tmp_path):
    conn = make_database("reap")
    project = linear(tmp_path / "p", 2)
    return target_for(conn, AlembicProjectFactory(name="lin", location=str(project.root)), name="lin")


def running(target, beat):
    return RunFactory(target=target,
                              status=Run.Status.RUNNING, started_at=beat, heartbeat_at=beat)


def test_it_interrupts_only_runs_whose_heartbeat_is_stale(target):
    start = now()
    with time_machine.travel(start, tick=False):
        stale = running(target, start - dt.timedelta(seconds=61))
        alive = running(target, start - dt.timedelta(seconds=5))
        reaped = lifecycle.reap_stale_runs(stale_seconds=60)

    assert [r.pk for r in reaped] == [stale.pk]
    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == Run.Status.INTERRUPTED and stale.finished_at and stale.result_heads == []
    assert stale.error_code == "interrupted" and "heartbeat" in stale.error and stale.error_explanation
    assert alive.status == Run.Status.RUNNING
    event = AuditEvent.objects.get(run=stale)
    assert (event.action, event.actor_kind, event.outcome) == ("run.interrupted", "system", "interrupted")


def test_it_uses_the_configured_staleness(target, settings):
    settings.MOP_REAPER_STALE_SECONDS = 600
    run = running(target, now() - dt.timedelta(seconds=120))
    assert lifecycle.reap_stale_runs() == []
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING


def test_it_records_unknown_heads_when_the_target_is_unreachable(target):
    target.port = 1
    target.save()
    run = running(target, now() - dt.timedelta(minutes=5))
    assert [r.pk for r in lifecycle.reap_stale_runs(stale_seconds=60)] == [run.pk]
    run.refresh_from_db()
    assert run.status == Run.Status.INTERRUPTED and run.result_heads is None
