"""The SVG of the blocking tree escapes what sessions typed; durations get pg_activity's colours."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from migrations_ops.locks import blocking_tree, duration_class, render_tree_svg
from migrations_ops.locks.models import BlockingTree

from .conftest import Chain

SVG = "{http://www.w3.org/2000/svg}"


def test_it_escapes_query_text_in_the_svg(chain: Chain) -> None:
    tree = blocking_tree(chain.db.diag)
    assert "<script>" in tree.roots[0].query

    svg = render_tree_svg(tree)

    assert "<script" not in svg
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in svg
    root = ET.fromstring(svg)  # well-formed XML
    boxes = root.findall(f"{SVG}g")
    assert [int(g.get("data-pid")) for g in boxes][:2] == [chain.a.pid, chain.b.pid]
    assert len(boxes) == 4
    assert boxes[0].find(f"{SVG}title").text == tree.roots[0].query  # full text, unescaped by the parser
    assert "AccessExclusiveLock on t" in svg
    assert "blocks 1 directly, 3 in all" in svg


def test_it_draws_an_empty_tree() -> None:
    svg = render_tree_svg(BlockingTree())
    assert "No session is blocked" in svg
    ET.fromstring(svg)


def test_it_colours_durations_like_pg_activity() -> None:
    assert [duration_class(s) for s in (0, 0.999, 1, 2.5, 3, 10_000)] == ["ok", "ok", "warn", "warn", "crit", "crit"]
