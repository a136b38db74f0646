"""'Since this run' compares equal windows around a succeeded run; the beat entry of the periodic reading;
retention; ops health's plain and bad-input answers."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.timezone import now

from portal.health import services
from portal.health.models import HealthSnapshot
from portal.ops.models import Run
from tests.engine.health.helpers import build, load
from tests.factories import RunFactory, target_for


@pytest.fixture
def target(db, make_database):
    conn = make_database("since")
    build(conn)
    return target_for(conn, name="since-t"), conn


def _backdate(row: HealthSnapshot, at: dt.datetime) -> None:
    HealthSnapshot.objects.filter(pk=row.pk).update(taken_at=at)


def test_it_compares_equal_windows_before_and_after_a_run(target) -> None:
    t, conn = target
    start = now() - dt.timedelta(minutes=30)
    a = services.take(t)
    _backdate(a, start - dt.timedelta(minutes=10))
    load(conn, inserts=20, rollbacks=0)
    b = services.take(t)
    _backdate(b, start - dt.timedelta(minutes=1))
    run = RunFactory(target=t, operation="upgrade", revision="head", status=Run.Status.SUCCEEDED,
                             actor="dba", started_at=start, finished_at=start + dt.timedelta(minutes=1))
    c = services.take(t)
    _backdate(c, start + dt.timedelta(minutes=2))
    load(conn, inserts=20, rollbacks=5)
    d = services.take(t)
    _backdate(d, start + dt.timedelta(minutes=11))
    s = services.since_run(run, window=dt.timedelta(minutes=15))
    assert (s.before.readings, s.after.readings) == (2, 2)
    assert s.before.rollback_rate == 0 or s.before.rollback_rate is None
    assert s.after.size_bytes_end is not None and s.after.readings == 2
    out = io.StringIO()
    call_command("ops", "health", "since-t", "--since", str(run.pk), stdout=out)
    text = out.getvalue()
    assert f"Run #{run.pk} (upgrade)" in text and "before: 2 snapshots" in text and "after: 2 snapshots" in text
    # Without pg_stat_statements no statement can be compared, and the output says so plainly.
    if not services.reading_of(d).statements:
        assert "pg_stat_statements is not enabled" in text


def test_a_failed_run_has_no_after(target) -> None:
    t, _ = target
    run = RunFactory(target=t, operation="upgrade", revision="head", status=Run.Status.FAILED, actor="dba",
                             started_at=now(), finished_at=now())
    with pytest.raises(CommandError, match="did not succeed"):
        call_command("ops", "health", "since-t", "--since", str(run.pk), stdout=io.StringIO())
    with pytest.raises(CommandError, match="No run #999999"):
        call_command("ops", "health", "since-t", "--since", "999999", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Unknown target"):
        call_command("ops", "health", "nope", stdout=io.StringIO())


def test_it_prints_the_plain_view_and_purges_old_readings(target, settings) -> None:
    t, _ = target
    old = services.take(t)
    _backdate(old, now() - dt.timedelta(days=settings.MOP_HEALTH_RETENTION_DAYS + 1))
    services.take(t)
    assert services.purge() == 1
    out = io.StringIO()
    call_command("ops", "health", "since-t", stdout=out)
    text = out.getvalue()
    assert "since-t: 1 snapshots in the last 6h" in text
    assert "orders_note_unused" in text and "public.fresh: never analyzed" in text


def test_bootstrap_registers_the_periodic_health_reading_once(db, settings) -> None:
    from django_celery_beat.models import PeriodicTask

    from portal.health.schedule import ensure_schedule

    settings.MOP_HEALTH_INTERVAL_SECONDS = 90
    assert ensure_schedule() is True
    assert ensure_schedule() is False
    task = PeriodicTask.objects.get(task="health.snapshot_all_targets")
    assert (task.interval.every, task.interval.period) == (90, "seconds")
