"""The revision graph picture: well-formed, escaped, marked, deterministic, fast enough."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

from migrations_ops.schema.graph_svg import render_graph
from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.revisions import RevisionListing, clear_cache, list_revisions

SVG = "{http://www.w3.org/2000/svg}"


def write(versions: Path, rev: str, down: object, message: str = "", **extra: object) -> None:
    """A minimal revision file: docstring plus the module-level names Alembic reads."""
    lines = [f'"""{message or "rev " + rev}\n\nCreate Date: 2024-01-02 03:04:05\n"""']
    lines += [f"revision = {rev!r}", f"down_revision = {down!r}"]
    lines += [f"{k} = {v!r}" for k, v in extra.items()]
    (versions / f"{rev}.py").write_text("\n".join(lines) + "\n")


def listing_of(tmp_path: Path, build) -> RevisionListing:
    root = tmp_path / "proj"
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "env.py").write_text("")
    build(versions)
    clear_cache()
    return list_revisions(resolve_project(ProjectSource(str(root))))


def rich(versions: Path) -> None:
    write(versions, "a1", None, "create users", branch_labels="core")
    write(versions, "a2", "a1", "add email")
    for b in ("b1", "b2", "b3"):
        write(versions, b, "a2", f"branch {b}")
    write(versions, "m1", ("b1", "b2", "b3"), "merge three")
    write(versions, "s1", None, "search base")
    write(versions, "s2", "s1", "search index", depends_on="a2")
    write(versions, "h1", "m1", "after merge")


def groups(svg: str, attr: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get(attr): g for g in root.iter(f"{SVG}g") if g.get(attr)}


def test_it_draws_every_revision_with_its_kind(tmp_path: Path) -> None:
    svg = render_graph(listing_of(tmp_path, rich))
    nodes = groups(svg, "data-rev")
    assert set(nodes) == {"a1", "a2", "b1", "b2", "b3", "m1", "s1", "s2", "h1"}
    assert nodes["m1"].find(f"{SVG}rect") is not None  # merge point: a square
    assert nodes["a2"].find(f"{SVG}path") is not None  # branch point: a diamond
    assert len(nodes["h1"].findall(f"{SVG}circle")) == 2  # head: a ring around the dot
    assert "merge point" in nodes["m1"].find(f"{SVG}title").text
    assert 'stroke-dasharray="5 3"' in svg.split('data-legend="1"')[1]  # a depends_on edge beyond the legend
    labels = groups(svg, "data-label")
    assert "(core)" in "".join(labels["a1"].itertext())


def test_it_puts_newest_at_the_top(tmp_path: Path) -> None:
    listing = listing_of(tmp_path, rich)
    svg = render_graph(listing)

    def y_of(rev: str) -> float:
        label = groups(svg, "data-label")[rev]
        return float(label.find(f"{SVG}text").get("y"))

    assert y_of("h1") < y_of("m1") < y_of("b1") < y_of("a2") < y_of("a1")


def test_it_escapes_every_text(tmp_path: Path) -> None:
    def build(versions: Path) -> None:
        write(versions, "x1", None, 'drop <script>alert("x")</script> & "quotes"')

    svg = render_graph(
        listing_of(tmp_path, build), marks={"x1": ["prod <b>&</b>"], "gone&<": ["t'1"]}, highlight={"x1"}
    )
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&amp;" in svg
    root = ET.fromstring(svg)  # well-formed XML
    text = "".join(root.itertext())
    assert 'drop <script>alert("x")</script> & "quotes"' in text
    assert "prod <b>&</b>" in text
    assert "gone&<" in text


def test_it_places_target_badges_and_a_footer_for_unknown_revisions(tmp_path: Path) -> None:
    svg = render_graph(listing_of(tmp_path, rich), marks={"m1": ["staging", "dev"], "base": ["new"], "zz99": ["old"]})
    label = "".join(groups(svg, "data-label")["m1"].itertext())
    assert label.startswith("stagingdev")
    text = "".join(ET.fromstring(svg).itertext())
    assert "at base (no revision applied): new" in text
    assert "at zz99, which no revision file contains: old" in text


def test_it_highlights_and_marks_missing_parents(tmp_path: Path) -> None:
    def build(versions: Path) -> None:
        write(versions, "a", None)
        write(versions, "b", "gone")

    svg = render_graph(listing_of(tmp_path, build), highlight={"a"})
    assert 'fill="#fff8c5"' in svg
    assert "missing down_revision: gone" in svg
    assert "1 revision file problem(s)" in svg


def test_it_is_deterministic_and_handles_an_empty_project(tmp_path: Path) -> None:
    listing = listing_of(tmp_path, rich)
    assert render_graph(listing, {"a1": ["t"]}) == render_graph(listing, {"a1": ["t"]})
    empty = RevisionListing((), (), ())
    ET.fromstring(render_graph(empty))


def test_it_draws_600_revisions_quickly_in_few_lanes(tmp_path: Path) -> None:
    def build(versions: Path) -> None:
        write(versions, "r0000", None)
        prev = "r0000"
        for i in range(1, 600, 3):  # a feature branch merged back every three revisions
            a, b, m = f"r{i:04d}", f"r{i + 1:04d}", f"r{i + 2:04d}"
            write(versions, a, prev)
            write(versions, b, prev)
            write(versions, m, (a, b), "merge " + "long message " * 10)
            prev = m

    listing = listing_of(tmp_path, build)
    assert len(listing.revisions) == 601
    start = time.perf_counter()
    svg = render_graph(listing, marks={listing.heads[0]: ["prod"]})
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    root = ET.fromstring(svg)
    assert int(root.get("width")) < 1400  # two lanes, truncated messages: stays readable
    assert len(groups(svg, "data-rev")) == 601
