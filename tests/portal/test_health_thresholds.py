"""Thresholds: a breach lasting its minutes opens one event, kept open while it lasts and closed when a
snapshot is back under; size growth per day; a statement's mean time doubled since a chosen run.

Snapshots are rows written with the figures a reading would give (the reading itself is tested against
real databases in tests/engine/health and the worker tests); judging is what is tested here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils.timezone import now

from portal.health import services
from portal.health.models import HealthEvent, HealthSnapshot, HealthThreshold
from portal.ops.models import Run
from tests.factories import RunFactory, TargetFactory

T0 = now().replace(microsecond=0) - dt.timedelta(hours=2)


@pytest.fixture
def target(db):
    return TargetFactory(name="judged", environment="production")


def _snap(target, minute: float, *, blocked: int = 0, size: int = 1000, statements=()) -> HealthSnapshot:
    return HealthSnapshot.objects.create(
        target=target, taken_at=T0 + dt.timedelta(minutes=minute), connections=5, active=1, blocked=blocked,
        size_bytes=size, xact_commit=0, xact_rollback=0, seconds=0.01,
        reading={"statements": [{"queryid": q, "calls": c, "total_ms": t, "mean_ms": t / c, "rows": c,
                                 "query": f"SELECT {q}"} for q, c, t in statements]})


def test_a_block_lasting_its_minutes_opens_one_event_then_closes(target) -> None:
    HealthThreshold.objects.create(environment="production", metric="blocked", above=2, for_minutes=5)
    opened = []
    for minute, blocked in ((0, 0), (1, 3), (3, 4), (5, 3), (6.5, 5), (8, 4), (9, 0), (10, 3)):
        row = _snap(target, minute, blocked=blocked)
        opened += services.judge(target, row)
    # Blocked from minute 1; five minutes of it first at 6.5 (5 min 30 s): one event, kept through minute 8.
    assert len(opened) == 1 and opened[0].opened_at == T0 + dt.timedelta(minutes=6.5)
    event = HealthEvent.objects.get(target=target)
    assert event.closed_at == T0 + dt.timedelta(minutes=9) and event.value == 5
    assert HealthEvent.objects.count() == 1  # minute 10's breach is too short for a second one


def test_size_growth_per_day(target) -> None:
    HealthThreshold.objects.create(environment="production", metric="size_growth_per_day", above=1e9, for_minutes=0)
    _snap(target, 0, size=1_000_000)
    assert services.judge(target, _snap(target, 60, size=1_000_000 + 10_000_000)) == []  # 240 MB/day
    got = services.judge(target, _snap(target, 120, size=1_000_000 + 200_000_000))  # 2.4 GB/day
    assert len(got) == 1 and 2.3e9 < got[0].value < 2.5e9


def test_a_statement_twice_as_slow_since_the_chosen_run(target) -> None:
    run = RunFactory(target=target, operation="upgrade", revision="head", status=Run.Status.SUCCEEDED,
                             actor="dba", started_at=T0 + dt.timedelta(minutes=10),
                             finished_at=T0 + dt.timedelta(minutes=11))
    rule = HealthThreshold(environment="production", metric="statement_slowdown", above=2, for_minutes=0,
                           since_run=run)
    rule.full_clean()
    rule.save()
    _snap(target, 6, statements=[(1, 10, 10.0), (2, 5, 50.0)])
    _snap(target, 9, statements=[(1, 20, 20.0), (2, 10, 100.0)])  # before: q1 1 ms, q2 10 ms
    _snap(target, 12, statements=[(1, 20, 20.0), (2, 10, 100.0)])
    assert services.judge(target, _snap(target, 14, statements=[(1, 30, 35.0), (2, 20, 200.0)])) == []  # 1.5x
    got = services.judge(target, _snap(target, 16, statements=[(1, 40, 65.0), (2, 30, 300.0)]))
    # The window ending at minute 16 starts at the snapshot of minute 12: q1 45 ms / 20 calls = 2.25 ms vs 1 ms.
    assert len(got) == 1 and got[0].value == 2.25


def test_a_slowdown_rule_needs_its_run() -> None:
    with pytest.raises(ValidationError, match="choose it"):
        HealthThreshold(environment="production", metric="statement_slowdown", above=2).clean()
