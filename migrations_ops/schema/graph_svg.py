"""Draw a revision listing as an SVG picture, server-side, without JavaScript.

One row per revision, newest at the top as ``alembic history`` prints them;
branches get lanes (as ``git log --graph`` does), edges run from each
revision down to its parents, ``depends_on`` is dashed. Every text is
escaped: messages and target names come from files and users.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from .listing import RevisionInfo, RevisionListing

ROW = 24
LANE = 16
PAD = 14
LEGEND = 34
GUTTER = 26
CHAR = 7.3  # width of one monospace character at font-size 12
MESSAGE_MAX = 72
ID_MAX = 12
PALETTE = ("#0969da", "#1a7f37", "#bc4c00", "#8250df", "#bf3989", "#1b7c83", "#9a6700", "#57606a")
HEAD = "#1a7f37"
BRANCH = "#bf8700"
MERGE = "#8250df"
NODE = "#57606a"
BADGE = "#0550ae"


def render_graph(
    listing: RevisionListing,
    marks: dict[str, list[str]] | None = None,
    highlight: set[str] | None = None,
) -> str:
    """Render the revision DAG as a standalone SVG document.

    :param listing: from ``list_revisions``; its order (newest first) is kept.
    :param marks: revision id -> names (targets) shown as badges on that
        row; ids absent from the listing (and ``"base"``) go in a footer.
    :param highlight: revision ids to emphasise (for example, pending ones).
    """
    marks = marks or {}
    highlight = highlight or set()
    revs = listing.revisions
    row_of = {r.id: i for i, r in enumerate(revs)}
    col, edges, width = _lanes(revs, row_of)
    text_x = PAD + max(width, 1) * LANE + GUTTER
    footer = _footer_lines(listing, marks, row_of)
    height = LEGEND + len(revs) * ROW + len(footer) * ROW + PAD
    parts: list[str] = []
    widest = 0.0
    for i, rev in enumerate(revs):
        if rev.id in highlight:
            parts.append(f'<rect x="0" y="{_y(i) - ROW / 2:g}" width="100%" height="{ROW}" fill="#fff8c5"/>')
    parts.extend(_edge(col, row_of, child, parent, lane) for child, parent, lane in edges)
    for rev in revs:
        parts.extend(_dangling(rev, col[rev.id], row_of))
        parts.extend(_dependency(rev, col, row_of, text_x))
    for i, rev in enumerate(revs):
        node, label, w = _row(rev, i, col[rev.id], text_x, marks.get(rev.id, []), rev.id in highlight)
        parts.append(node)
        parts.append(label)
        widest = max(widest, w)
    for k, line in enumerate(footer):
        y = LEGEND + (len(revs) + k) * ROW + ROW / 2
        parts.append(f'<text x="{PAD}" y="{y + 4:g}" fill="#cf222e">{escape(line)}</text>')
        widest = max(widest, len(line) * CHAR - text_x + PAD)
    total_w = int(max(text_x + widest + PAD, 620))
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{height}" '
        f'viewBox="0 0 {total_w} {height}" font-family="ui-monospace, SFMono-Regular, Menlo, monospace" '
        f'font-size="12" role="img" aria-label="Revision graph">'
        f"<title>Revision graph: {len(revs)} revisions, heads {escape(', '.join(listing.heads))}</title>"
        f'<rect width="100%" height="100%" fill="#ffffff"/>'
    )
    return "".join([head, _legend(), *parts, "</svg>"])


def _lanes(
    revs: tuple[RevisionInfo, ...], row_of: dict[str, int]
) -> tuple[dict[str, int], list[tuple[str, str, int]], int]:
    """Give each revision a column, and each parent edge the lane it runs down.

    Steps: 1 a revision takes the leftmost lane awaiting it (else the first
    free one, for a head), 2 lanes that also awaited it end here, 3 its first
    parent continues its lane, other parents take an awaiting or a free lane.
    """
    lanes: list[str | None] = []
    col: dict[str, int] = {}
    edges: list[tuple[str, str, int]] = []
    width = 0
    for rev in revs:
        waiting = [i for i, want in enumerate(lanes) if want == rev.id]
        c = waiting[0] if waiting else _free(lanes)
        for i in waiting:
            lanes[i] = None
        col[rev.id] = c
        for k, parent in enumerate(p for p in rev.parents if p in row_of):
            if parent in lanes:
                lane = lanes.index(parent)
            elif k == 0:
                lane = c
            else:
                lane = _free(lanes)
            lanes[lane] = parent
            edges.append((rev.id, parent, lane))
        while lanes and lanes[-1] is None:
            lanes.pop()
        width = max(width, len(lanes), c + 1)
    return col, edges, width


def _free(lanes: list[str | None]) -> int:
    """The leftmost free lane, claimed (the caller sets what it awaits)."""
    for i, want in enumerate(lanes):
        if want is None:
            return i
    lanes.append(None)
    return len(lanes) - 1


def _x(c: int) -> float:
    return PAD + c * LANE + LANE / 2


def _y(row: int) -> float:
    return LEGEND + row * ROW + ROW / 2


def _edge(col: dict[str, int], row_of: dict[str, int], child: str, parent: str, lane: int) -> str:
    """A parent edge: leave the child towards its lane, run down it, join the parent."""
    xc, yc = _x(col[child]), _y(row_of[child])
    xp, yp = _x(col[parent]), _y(row_of[parent])
    xl = _x(lane)
    h = ROW / 2
    if yp - yc <= ROW:
        d = f"M{xc:g},{yc:g} C{xc:g},{yc + h:g} {xp:g},{yp - h:g} {xp:g},{yp:g}"
    else:
        d = f"M{xc:g},{yc:g} "
        d += f"C{xc:g},{yc + h:g} {xl:g},{yc + h:g} {xl:g},{yc + ROW:g} " if xl != xc else f"L{xl:g},{yc + ROW:g} "
        d += f"L{xl:g},{yp - ROW:g} "
        d += f"C{xl:g},{yp - h:g} {xp:g},{yp - h:g} {xp:g},{yp:g}" if xl != xp else f"L{xp:g},{yp:g}"
    colour = PALETTE[lane % len(PALETTE)]
    return f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"/>'


def _dangling(rev: RevisionInfo, c: int, row_of: dict[str, int]) -> Iterable[str]:
    """A parent the scripts do not contain: a short red stub with a question mark."""
    missing = [p for p in rev.parents if p not in row_of]
    if not missing:
        return
    x, y = _x(c), _y(row_of[rev.id])
    yield (
        f'<g><title>{escape("missing down_revision: " + ", ".join(missing))}</title>'
        f'<path d="M{x:g},{y:g} L{x:g},{y + ROW * 0.7:g}" stroke="#cf222e" stroke-width="2" '
        f'stroke-dasharray="2 2"/><text x="{x + 3:g}" y="{y + ROW * 0.8:g}" fill="#cf222e">?</text></g>'
    )


def _dependency(rev: RevisionInfo, col: dict[str, int], row_of: dict[str, int], text_x: float) -> Iterable[str]:
    """``depends_on``: a dashed arc through the gutter between lanes and labels."""
    xc, yc = _x(col[rev.id]), _y(row_of[rev.id])
    bow = text_x - GUTTER / 3
    for dep in rev.depends_on_ids:
        if dep not in row_of:
            continue
        xd, yd = _x(col[dep]), _y(row_of[dep])
        yield (
            f'<path d="M{xc:g},{yc:g} C{bow:g},{yc:g} {bow:g},{yd:g} {xd:g},{yd:g}" fill="none" '
            f'stroke="#6e7781" stroke-width="1.3" stroke-dasharray="5 3"/>'
        )


def _node_shape(rev: RevisionInfo, x: float, y: float) -> str:
    """Merge points are squares, branch points diamonds, heads get a green ring, bases a bar."""
    out = []
    if rev.is_merge_point:
        stroke = f' stroke="{BRANCH}" stroke-width="2.5"' if rev.is_branch_point else ""
        out.append(f'<rect x="{x - 5.5:g}" y="{y - 5.5:g}" width="11" height="11" fill="{MERGE}"{stroke}/>')
    elif rev.is_branch_point:
        out.append(f'<path d="M{x:g},{y - 7:g} L{x + 7:g},{y:g} L{x:g},{y + 7:g} L{x - 7:g},{y:g} Z" fill="{BRANCH}"/>')
    else:
        out.append(f'<circle cx="{x:g}" cy="{y:g}" r="5" fill="{NODE}"/>')
    if rev.is_head:
        out.append(f'<circle cx="{x:g}" cy="{y:g}" r="9" fill="none" stroke="{HEAD}" stroke-width="2"/>')
    if rev.is_base:
        out.append(f'<path d="M{x - 7:g},{y + 9:g} L{x + 7:g},{y + 9:g}" stroke="{NODE}" stroke-width="2"/>')
    return "".join(out)


def _row(
    rev: RevisionInfo, i: int, c: int, text_x: float, names: list[str], bold: bool
) -> tuple[str, str, float]:
    """The node and its label line: badges, short id, branch labels, message."""
    x, y = _x(c), _y(i)
    flags = [f for f, on in (("head", rev.is_head), ("base", rev.is_base),
                             ("branch point", rev.is_branch_point), ("merge point", rev.is_merge_point)) if on]
    tip = "\n".join([
        f"{rev.id}{' (' + ', '.join(flags) + ')' if flags else ''}",
        rev.message,
        f"parents: {', '.join(rev.parents) or '<base>'}",
        *([f"depends on: {', '.join(rev.depends_on)}"] if rev.depends_on else []),
        *([f"branch: {', '.join(rev.branch_names)}"] if rev.branch_names else []),
        f"file: {rev.path}",
        *([f"created: {rev.create_date.isoformat(' ')}"] if rev.create_date else []),
    ])
    node = (
        f'<g data-rev="{escape(rev.id)}"><title>{escape(tip)}</title>{_node_shape(rev, x, y)}</g>'
    )
    out = []
    cursor = text_x
    for name in names:
        w = len(name) * CHAR + 10
        out.append(
            f'<rect x="{cursor:g}" y="{y - 8:g}" width="{w:g}" height="16" rx="3" fill="{BADGE}"/>'
            f'<text x="{cursor + 5:g}" y="{y + 4:g}" fill="#ffffff">{escape(name)}</text>'
        )
        cursor += w + 6
    short = rev.id if len(rev.id) <= ID_MAX else rev.id[:ID_MAX] + "…"
    labels = f" ({', '.join(rev.branch_labels)})" if rev.branch_labels else ""
    message = rev.message.replace("\n", " ")
    if len(message) > MESSAGE_MAX:
        message = message[: MESSAGE_MAX - 1] + "…"
    weight = ' font-weight="bold"' if bold else ""
    out.append(
        f'<text x="{cursor:g}" y="{y + 4:g}"{weight}><tspan font-weight="bold">{escape(short)}</tspan>'
        f'<tspan fill="#1b7c83">{escape(labels)}</tspan> <tspan fill="#24292f">{escape(message)}</tspan></text>'
    )
    width = cursor - text_x + (len(short) + len(labels) + 1 + len(message)) * CHAR
    return node, f'<g data-label="{escape(rev.id)}">{"".join(out)}</g>', width


def _footer_lines(listing: RevisionListing, marks: dict[str, list[str]], row_of: dict[str, int]) -> list[str]:
    """Marks that sit on no drawn revision, and how many files could not be read."""
    lines = []
    for rev_id in sorted(k for k in marks if k not in row_of):
        names = ", ".join(marks[rev_id])
        if rev_id in ("base", ""):
            lines.append(f"at base (no revision applied): {names}")
        else:
            lines.append(f"at {rev_id}, which no revision file contains: {names}")
    if listing.problems:
        lines.append(f"{len(listing.problems)} revision file problem(s) not drawn; see the problems list")
    return lines


def _legend() -> str:
    """Symbols used, drawn once across the top."""
    y = LEGEND / 2
    items = []
    x = PAD + 6.0
    fake = {
        "head": RevisionInfo("h", (), (), (), "", None, "", (), True, False, False, False),
        "base": RevisionInfo("b", (), (), (), "", None, "", (), False, True, False, False),
        "branch point": RevisionInfo("p", (), (), (), "", None, "", (), False, False, True, False),
        "merge point": RevisionInfo("m", (), (), (), "", None, "", (), False, False, False, True),
    }
    for name, rev in fake.items():
        shape = _node_shape(rev, x, y - 3 if name == "base" else y)
        items.append(f'{shape}<text x="{x + 14:g}" y="{y + 4:g}" fill="#57606a">{name}</text>')
        x += 14 + len(name) * CHAR + 22
    items.append(
        f'<path d="M{x - 6:g},{y:g} L{x + 18:g},{y:g}" stroke="#6e7781" stroke-width="1.3" stroke-dasharray="5 3"/>'
        f'<text x="{x + 24:g}" y="{y + 4:g}" fill="#57606a">depends_on</text>'
    )
    x += 24 + 10 * CHAR + 22
    items.append(
        f'<rect x="{x - 6:g}" y="{y - 8:g}" width="{6 * CHAR + 10:g}" height="16" rx="3" fill="{BADGE}"/>'
        f'<text x="{x - 1:g}" y="{y + 4:g}" fill="#ffffff">target</text>'
    )
    return f'<g data-legend="1">{"".join(items)}</g>'
