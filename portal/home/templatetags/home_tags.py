"""Short ages and words for the dashboard cells."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.timezone import now

register = template.Library()


def short_age(seconds: float | None) -> str:
    """A duration the way a DBA reads it at a glance.

    >>> short_age(4.2), short_age(95), short_age(7300), short_age(200000), short_age(None)
    ('4 s', '1 min', '2 h', '2 d', '—')
    """
    if seconds is None:
        return "—"
    seconds = max(0.0, float(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


@register.filter
def age(value: datetime | None) -> str:
    """How long ago ``value`` was."""
    if value is None:
        return "—"
    return short_age((now() - value).total_seconds())


@register.filter
def seconds(value) -> str:
    return short_age(value)


@register.filter
def short_revs(revs) -> str:
    """Revision ids cut to 12 characters, comma separated; empty means base."""
    if revs is None:
        return "—"
    return ", ".join(r[:12] for r in revs) or "base"
