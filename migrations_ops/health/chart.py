"""Line charts of health figures as server-side SVG (no chart service, no JavaScript).

Colours read on a light and a dark page: text and axes use ``currentColor``,
the line a mid-tone blue, the threshold a dashed amber. Every point is a link
to the reading it comes from, with its value in a tooltip. Every text is
escaped: titles and units come from callers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

LINE = "#3b82c4"
LIMIT = "#d08a00"
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 560, 170, 64, 12, 26, 28


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One value at one time, and where its reading can be seen."""

    at: dt.datetime
    value: float | None
    href: str = ""


def human(value: float, unit: str) -> str:
    """A short label for an axis or tooltip.

    >>> human(1536, "bytes"), human(0.25, "ratio"), human(12.345, "/s"), human(3, "")
    ('1.5 kB', '25.0%', '12.3/s', '3')
    """
    if unit == "bytes":
        size, step = float(value), 0
        while abs(size) >= 1024 and step < 4:
            size, step = size / 1024, step + 1
        return f"{size:.1f} {('B', 'kB', 'MB', 'GB', 'TB')[step]}" if step else f"{int(size)} B"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit in ("/s", "s"):
        return f"{value:.1f}{unit}"
    return f"{value:g}" if isinstance(value, float) and not value.is_integer() else f"{int(value)}"


def line_chart(title: str, points: Sequence[ChartPoint], *, unit: str = "", limit: float | None = None) -> str:
    """An SVG line chart of ``points`` (oldest first); gaps where a value is None; ``limit`` as a dashed line."""
    known = [p for p in points if p.value is not None]
    head = (f'<svg class="mop-svg mop-health-chart" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" xmlns="http://www.w3.org/2000/svg">'
            f'<text x="4" y="16" fill="currentColor" font-size="13" font-weight="bold">{escape(title)}</text>')
    if not known:
        return head + (f'<text x="{LEFT}" y="{HEIGHT // 2}" fill="currentColor" font-size="12">'
                       'no readings in this window yet</text></svg>')
    t0, t1 = known[0].at, known[-1].at
    span = max((t1 - t0).total_seconds(), 1.0)
    values = [p.value for p in known if p.value is not None]
    top = max([*values, limit or 0.0]) or 1.0
    top *= 1.1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(p: ChartPoint) -> tuple[float, float]:
        x = LEFT + (p.at - t0).total_seconds() / span * plot_w
        return x, TOP + plot_h - (p.value or 0.0) / top * plot_h

    parts = [head,
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="currentColor" '
             'stroke-opacity="0.4"/>',
             f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="currentColor" stroke-opacity="0.4"/>',
             f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end" fill="currentColor" font-size="10">'
             f'{escape(human(top, unit))}</text>',
             f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end" fill="currentColor" font-size="10">0</text>',
             f'<text x="{LEFT}" y="{HEIGHT - 8}" fill="currentColor" font-size="10">{t0:%Y-%m-%d %H:%M}</text>',
             f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end" fill="currentColor" font-size="10">'
             f'{t1:%Y-%m-%d %H:%M} UTC</text>']
    if limit is not None:
        y = TOP + plot_h - limit / top * plot_h
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{LIMIT}" '
                     f'stroke-dasharray="5 4"><title>threshold {escape(human(limit, unit))}</title></line>')
    for run in _runs(points):
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, run))
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    for p in known:
        x, y = xy(p)
        dot = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}"><title>{p.at:%Y-%m-%d %H:%M:%S}: '
               f'{escape(human(p.value or 0.0, unit))}</title></circle>')
        parts.append(f'<a href="{escape(p.href)}">{dot}</a>' if p.href else dot)
    last = known[-1].value or 0.0
    parts.append(f'<text x="{WIDTH - RIGHT}" y="16" text-anchor="end" fill="currentColor" font-size="12">'
                 f'now {escape(human(last, unit))}</text></svg>')
    return "".join(parts)


def _runs(points: Sequence[ChartPoint]) -> list[list[ChartPoint]]:
    """Consecutive known points; a None breaks the line."""
    runs: list[list[ChartPoint]] = [[]]
    for p in points:
        if p.value is None:
            runs.append([])
        else:
            runs[-1].append(p)
    return [r for r in runs if r]
