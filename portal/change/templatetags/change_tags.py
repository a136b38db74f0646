"""Template filters of change control: squawk's Markdown as HTML, risk levels as CSS classes."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https://[^)\s]+)\)")


@register.filter
def markdown_inline(text) -> str:
    """squawk's inline Markdown (`code`, **bold**, [links](https://...)) as HTML; everything else escaped.

    >>> markdown_inline("Use a `TEXT` field <b>")
    'Use a <code>TEXT</code> field &lt;b&gt;'
    """
    html = escape(str(text or ""))
    html = _CODE.sub(r"<code>\1</code>", html)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _LINK.sub(r'<a href="\2" rel="noopener noreferrer">\1</a>', html)
    return mark_safe(html)  # noqa: S308 - escaped above; only our own tags added


@register.filter
def bytes_human(n) -> str:
    from migrations_ops.risk.assess import human_bytes

    return human_bytes(float(n or 0))


@register.filter
def count_human(n) -> str:
    from migrations_ops.risk.assess import human_count

    return human_count(float(n or 0))


@register.filter
def decided_by(request, user) -> bool:
    """Whether ``user`` has a decision on this change request that still counts (reads the DB)."""
    return bool(user and user.is_authenticated and request.approvals.filter(user=user, invalidated_at__isnull=True).exists())
