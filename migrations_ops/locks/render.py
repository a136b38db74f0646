"""Presentation helpers that need no Django: duration colours and the SVG of the blocking tree.

The SVG is built server-side from escaped text only: a query is data typed by
whoever connected to the target, and ``<script>`` in it must stay text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from .models import BlockingNode, BlockingTree

WARN_SECONDS = 1.0
CRIT_SECONDS = 3.0

ROW_HEIGHT = 64
BOX_HEIGHT = 54
BOX_WIDTH = 620
INDENT = 36
MARGIN = 8
QUERY_CHARS = 90
_FILL = {"ok": "#e6f4ea", "warn": "#fff4ce", "crit": "#fbe3e4"}
_STROKE = {"ok": "#5b9a68", "warn": "#c9a227", "crit": "#c0392b"}
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def duration_class(seconds: float | None) -> str:
    """Colour class of a duration, as pg_activity colours them: under 1 s, 1 to 3 s, 3 s and over.

    >>> duration_class(0.2), duration_class(1), duration_class(2.99), duration_class(3), duration_class(3600)
    ('ok', 'warn', 'warn', 'crit', 'crit')
    >>> duration_class(None)
    'ok'
    """
    if seconds is None or seconds < WARN_SECONDS:
        return "ok"
    return "warn" if seconds < CRIT_SECONDS else "crit"


def format_seconds(seconds: float | None) -> str:
    """A short human duration.

    >>> format_seconds(0.25), format_seconds(75), format_seconds(7322), format_seconds(None)
    ('0.2 s', '1 min 15 s', '2 h 2 min', '-')
    """
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(seconds), 60)
    if m < 60:
        return f"{m} min {s} s"
    h, m = divmod(m, 60)
    return f"{h} h {m} min"


def render_tree_svg(tree: BlockingTree) -> str:
    """Draw ``tree`` as a standalone SVG: one box per session, indented under its blocker.

    Boxes are coloured by transaction age (``duration_class``); sessions of a
    deadlock cycle have a dashed border. Each box carries ``data-pid`` and a
    ``<title>`` with the full query for the page's tooltips.
    """
    rows = list(tree.walk())
    if not rows:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" class="mop-blocking-tree" width="320" height="40" '
            'role="img" aria-label="No blocking"><text x="8" y="24" font-family="sans-serif" '
            'font-size="13">No session is blocked.</text></svg>'
        )
    depth_max = max(d for d, _ in rows)
    width = MARGIN * 2 + depth_max * INDENT + BOX_WIDTH
    height = MARGIN * 2 + len(rows) * ROW_HEIGHT - (ROW_HEIGHT - BOX_HEIGHT)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mop-blocking-tree" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Blocking tree" font-family="sans-serif" font-size="12">'
    ]
    parts.extend(_edges(rows))
    for i, (depth, node) in enumerate(rows):
        parts.append(_box(node, MARGIN + depth * INDENT, MARGIN + i * ROW_HEIGHT))
    parts.append("</svg>")
    return "\n".join(parts)


def _edges(rows: list[tuple[int, BlockingNode]]) -> Iterator[str]:
    """Elbow lines from each blocker's left edge down to the sessions waiting behind it."""
    stack: list[tuple[int, int]] = []  # (depth, row index) of the open ancestors
    for i, (depth, _) in enumerate(rows):
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            _, pi = stack[-1]
            x0 = MARGIN + (depth - 1) * INDENT + INDENT // 2
            y0 = MARGIN + pi * ROW_HEIGHT + BOX_HEIGHT
            y1 = MARGIN + i * ROW_HEIGHT + BOX_HEIGHT // 2
            x1 = MARGIN + depth * INDENT
            yield f'<path d="M{x0},{y0} V{y1} H{x1}" fill="none" stroke="#888" stroke-width="1.5"/>'
        stack.append((depth, i))


def _box(node: BlockingNode, x: int, y: int) -> str:
    cls = duration_class(node.xact_seconds)
    dash = ' stroke-dasharray="5,3"' if node.in_cycle else ""
    head = f"pid {node.pid} · {node.state or node.backend_type} · xact {format_seconds(node.xact_seconds)}"
    if node.blocks_transitively:
        head += f" · blocks {node.blocks_directly} directly, {node.blocks_transitively} in all"
    if node.in_cycle:
        head += " · DEADLOCK"
    who = f"{node.usename or '?'}@{node.client_addr or 'local'} · {node.application_name or '-'}"
    if node.lock_mode:
        who = f"waits {node.lock_mode} on {node.relation or node.lock_type or '?'} · " + who
    query = " ".join(node.query.split())
    short = query if len(query) <= QUERY_CHARS else query[: QUERY_CHARS - 1] + "…"
    return (
        f'<g class="node {cls}" data-pid="{node.pid}">'
        f"<title>{_esc(query)}</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="4" '
        f'fill="{_FILL[cls]}" stroke="{_STROKE[cls]}"{dash}/>'
        f'<text x="{x + 8}" y="{y + 16}" font-weight="bold">{_esc(head)}</text>'
        f'<text x="{x + 8}" y="{y + 32}">{_esc(who)}</text>'
        f'<text x="{x + 8}" y="{y + 47}" font-family="monospace" font-size="11">{_esc(short)}</text>'
        "</g>"
    )


def _esc(text: str) -> str:
    """Escape for SVG text and attributes, dropping characters XML cannot hold.

    >>> _esc('<script>alert("x")</script>&\\x00')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;'
    """
    return html.escape(_NOT_XML.sub("", text), quote=True)
