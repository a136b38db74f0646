"""Maintenance windows in time: the open window at an instant, and the next one.

A recurring window opens at each time its cron matches (minute hour
day-of-month month day-of-week, read with Celery's ``crontab`` sets, 0 =
Sunday) in its own time zone, and stays open ``duration_minutes``. A
one-off window is its ``starts_at``..``ends_at``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import crontab
from django.core.exceptions import ValidationError

HORIZON_DAYS = 400


def parse_cron(expr: str) -> crontab:
    """Celery's crontab for a five-field cron; ``ValidationError`` naming the problem otherwise."""
    parts = (expr or "").split()
    if len(parts) != 5:
        raise ValidationError(f"Cron {expr!r} needs five fields: minute hour day-of-month month day-of-week")
    try:
        return crontab(minute=parts[0], hour=parts[1], day_of_month=parts[2], month_of_year=parts[3],
                       day_of_week=parts[4])
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"Cron {expr!r} is not valid: {exc}") from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None


def starts(cron: str, tz: str, after: datetime, before: datetime) -> Iterator[datetime]:
    """Opening instants (UTC) of a recurring window in [after, before), in order."""
    ct, z = parse_cron(cron), zone(tz)
    day: date = after.astimezone(z).date() - timedelta(days=1)
    last: date = before.astimezone(z).date()
    while day <= last:
        if (day.month in ct.month_of_year and day.day in ct.day_of_month
                and (day.weekday() + 1) % 7 in ct.day_of_week):
            for h in sorted(ct.hour):
                for m in sorted(ct.minute):
                    at = datetime.combine(day, time(h, m), tzinfo=z).astimezone(UTC)
                    if after <= at < before:
                        yield at
        day += timedelta(days=1)


def open_at(window, at: datetime) -> tuple[datetime, datetime] | None:
    """The (start, end) of ``window`` open at ``at``, or None."""
    if window.kind == "one_off":
        if window.starts_at and window.ends_at and window.starts_at <= at < window.ends_at:
            return window.starts_at, window.ends_at
        return None
    span = timedelta(minutes=window.duration_minutes)
    found = None
    for s in starts(window.cron, window.timezone, at - span, at + timedelta(seconds=1)):
        if s <= at < s + span:
            found = (s, s + span)
    return found


def next_open(window, after: datetime) -> tuple[datetime, datetime] | None:
    """The window open at ``after``, else the next one to open; None if none within the horizon."""
    current = open_at(window, after)
    if current:
        return current
    if window.kind == "one_off":
        return (window.starts_at, window.ends_at) if window.starts_at and window.starts_at > after else None
    span = timedelta(minutes=window.duration_minutes)
    for s in starts(window.cron, window.timezone, after, after + timedelta(days=HORIZON_DAYS)):
        return s, s + span
    return None


def next_for(windows, after: datetime):
    """The earliest (window, start, end) among ``windows`` from ``after``, or None."""
    best = None
    for w in windows:
        found = next_open(w, after)
        if found and (best is None or found[0] < best[1]):
            best = (w, *found)
    return best
