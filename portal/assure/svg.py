"""Server-side SVG pictures: the rehearsal's three phases as a timeline, drift as bars per object kind."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

OK, BAD, WARN, ADDED, REMOVED, CHANGED = "#3c9a46", "#c9302c", "#d08a00", "#3c7fc9", "#c9302c", "#d08a00"


def rehearsal_picture(report: dict) -> SafeString:
    """One row per phase (first, back, again); each step a box as wide as its time, red if it failed or left
    something behind; hover shows the revision, time and locks."""
    phases = report.get("phases") or []
    if not phases:
        return mark_safe("")
    longest = max(sum((s.get("seconds") or 0.001) for s in p["steps"]) or 0.001 for p in phases)
    width, label_w, row_h = 900, 90, 34
    parts = [f'<svg class="mop-svg" role="img" aria-label="rehearsal timeline" viewBox="0 0 {width} '
             f'{row_h * len(phases) + 24}" width="100%" xmlns="http://www.w3.org/2000/svg">']
    scale = (width - label_w - 10) / longest
    for i, phase in enumerate(phases):
        y = 8 + i * row_h
        parts.append(f'<text x="0" y="{y + 17}" fill="currentColor" font-size="13">{escape(phase["name"])}</text>')
        x = float(label_w)
        for s in phase["steps"]:
            w = max(6.0, (s.get("seconds") or 0.001) * scale)
            colour = BAD if (not s["ok"] or s.get("not_undone")) else OK
            locks = "; ".join(f"{lk['mode']} {lk['relation']}" for lk in s.get("locks", [])[:6])
            tip = (f"{s['direction']} {s['revision']}: {s.get('seconds') or 0:.3f} s"
                   + (f" — locks: {locks}" if locks else "")
                   + (f" — not undone: {'; '.join(s['not_undone'])}" if s.get("not_undone") else "")
                   + (f" — {s['error']}" if s.get("error") else ""))
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w - 2:.1f}" height="24" rx="3" fill="{colour}">'
                         f'<title>{escape(tip)}</title></rect>')
            if w > 70:
                parts.append(f'<text x="{x + 4:.1f}" y="{y + 16}" fill="#fff" font-size="11">'
                             f'{escape(s["revision"][:10])}</text>')
            x += w
        if not phase["ok"] and not phase["steps"]:
            parts.append(f'<text x="{label_w}" y="{y + 17}" fill="{BAD}" font-size="12">did not run</text>')
    parts.append(f'<text x="{label_w}" y="{row_h * len(phases) + 20}" fill="currentColor" font-size="11">'
                 f'box width = step time; longest phase {longest:.2f} s</text></svg>')
    return mark_safe("".join(parts))  # noqa: S308 - every text above went through escape()


def drift_picture(changes: list[dict]) -> SafeString:
    """A bar per object kind: added (blue), removed (red), changed (amber) objects."""
    if not changes:
        return mark_safe("")
    kinds: dict[str, dict[str, int]] = {}
    for c in changes:
        kinds.setdefault(c["kind"], {"added": 0, "removed": 0, "changed": 0})[c["change"]] += 1
    most = max(sum(v.values()) for v in kinds.values())
    width, label_w, row_h = 600, 110, 26
    parts = [f'<svg class="mop-svg" role="img" aria-label="drift by object kind" viewBox="0 0 {width} '
             f'{row_h * len(kinds) + 26}" width="{width}" xmlns="http://www.w3.org/2000/svg">']
    scale = (width - label_w - 60) / most
    for i, (kind, counts) in enumerate(kinds.items()):
        y = 4 + i * row_h
        parts.append(f'<text x="0" y="{y + 15}" fill="currentColor" font-size="13">{escape(kind)}</text>')
        x = float(label_w)
        for change, colour in (("added", ADDED), ("removed", REMOVED), ("changed", CHANGED)):
            n = counts[change]
            if n:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{n * scale:.1f}" height="20" fill="{colour}">'
                             f'<title>{n} {change}</title></rect>')
                x += n * scale
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}" fill="currentColor" font-size="12">'
                     f'{sum(counts.values())}</text>')
    y = row_h * len(kinds) + 18
    parts.append(f'<text x="{label_w}" y="{y}" font-size="11"><tspan fill="{ADDED}">■ added</tspan> '
                 f'<tspan fill="{REMOVED}">■ removed</tspan> <tspan fill="{CHANGED}">■ changed</tspan></text></svg>')
    return mark_safe("".join(parts))  # noqa: S308 - every text above went through escape()
