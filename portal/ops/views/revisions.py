"""The project page's graph for large histories: cached by scripts fingerprint, linear chains collapsed.

The listing and the SVG are kept per fingerprint (``graph_collapse``); the
targets' positions are part of the picture's key, so a target that moves
redraws it. Chains are collapsed by default above ``COLLAPSE_FROM``
revisions; ``?collapse=0`` / ``?collapse=1`` choose.
"""

from __future__ import annotations

from django.utils.safestring import mark_safe

from migrations_ops.schema.graph_collapse import cached_graph, cached_listing, collapse_chains
from migrations_ops.schema.graph_svg import render_graph

from .. import services

COLLAPSE_FROM = 150


def listing_of(project):
    """The project's listing, read once per scripts fingerprint."""
    return cached_listing(services.resolve(project))


def graph_context(request, listing, marks: dict[str, list[str]]) -> dict:
    """What the template needs for the graph: svg, whether collapsed, the jump list and chain members."""
    raw = request.GET.get("collapse", "")
    collapse = raw == "1" or (raw != "0" and len(listing.revisions) >= COLLAPSE_FROM)
    key = (listing.fingerprint, collapse, tuple(sorted((k, tuple(v)) for k, v in marks.items())))

    def build():
        shown, chains = collapse_chains(listing, pinned=marks) if collapse else (listing, {})
        return render_graph(shown, marks=marks), chains, len(shown.revisions)

    svg, chains, rows = cached_graph(key, build)
    jumps = [{"label": f"head {h[:12]}", "rev": h} for h in listing.heads]
    jumps += [{"label": name, "rev": rev} for rev, names in sorted(marks.items()) for name in names if rev != "base"]
    return {
        "svg": mark_safe(svg),  # noqa: S308 - the engine escapes its SVG text
        "collapsed": collapse, "graph_rows": rows, "chains": chains, "jumps": jumps,
        "collapse_from": COLLAPSE_FROM,
    }
