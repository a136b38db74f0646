"""The periodic health reading as a user runs it: the beat entry 'ops bootstrap-example' registers, a real
``celery beat`` (DatabaseScheduler) and the real worker; readings arrive on their own, with rates."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest

from portal.health.models import HealthSnapshot
from portal.health.schedule import ensure_schedule
from tests.engine.health.helpers import build
from tests.factories import target_for
from tests.polling import wait_for
from tests.portal.change.conftest import celery_beat

pytestmark = pytest.mark.worker


def test_beat_takes_health_readings_of_every_target(transactional_db, celery_worker_proc, make_database,
                                                    settings, request) -> None:
    conn = make_database("beat")
    build(conn)
    target = target_for(conn, name="beat-health")
    settings.MOP_HEALTH_INTERVAL_SECONDS = 10  # the lowest the settings allow
    assert ensure_schedule()
    request.getfixturevalue("celery_beat")
    rows = wait_for(lambda: list(HealthSnapshot.objects.filter(target=target).order_by("taken_at"))[:2]
                    if HealthSnapshot.objects.filter(target=target).count() >= 2 else None,
                    timeout=90, what="two health readings taken through beat")
    assert rows[1].taken_at > rows[0].taken_at
    assert rows[1].tps is not None and rows[1].rollback_rate is not None
    assert rows[1].reading["database"]["datname"] == conn.dbname
