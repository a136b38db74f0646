"""Template filters of the activity pages: durations coloured and worded as the engine does."""

from __future__ import annotations

from django import template

from migrations_ops.locks import duration_class as _duration_class
from migrations_ops.locks.render import format_seconds

register = template.Library()


@register.filter
def duration_class(seconds) -> str:
    """``ok``, ``warn`` or ``crit`` (under 1 s, 1 to 3 s, 3 s and over), for the ``mop-dur-*`` CSS classes."""
    return _duration_class(seconds)


@register.filter
def duration(seconds) -> str:
    """A short human duration: ``0.2 s``, ``1 min 15 s``, ``2 h 2 min``, ``-``."""
    return format_seconds(seconds)


@register.filter
def indent(depth) -> str:
    """Left padding of a blocking-tree row, in em, for its depth."""
    return f"{0.3 + 1.6 * int(depth or 0):.1f}em"
