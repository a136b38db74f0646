"""Large histories in the graph: collapse linear chains, and cache listing and picture by fingerprint.

A 600-revision history drawn one row per revision is 14,000 px of mostly
straight line. ``collapse_chains`` keeps every revision that carries meaning
(heads, bases, branch and merge points, revisions with ``depends_on`` or
dependents, branch labels, targets' positions, pinned ones) and the ends of
each run of plain revisions, and folds the middle of a run longer than
``min_run`` into one row ``… N revisions``; that row's ``members`` lists the
folded ids so a search or a jump lands on it.

``cached_listing`` / ``cached_graph`` keep results per scripts fingerprint
(a git commit or the sha256 of the files), so a page view of an unchanged
project re-reads no revision file and redraws nothing.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from .listing import RevisionInfo, RevisionListing
from .project import ResolvedProject
from .revisions import list_revisions

CHAIN_PREFIX = "chain:"
_MAX_ENTRIES = 32
_lock = threading.Lock()
_listings: OrderedDict[tuple[str, str], RevisionListing] = OrderedDict()
_graphs: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
members_of: dict[str, tuple[str, ...]] = {}


def _keep(rev: RevisionInfo, pinned: set[str]) -> bool:
    return bool(rev.is_head or rev.is_base or rev.is_branch_point or rev.is_merge_point or rev.depends_on_ids
                or rev.dependents or rev.branch_labels or rev.id in pinned or len(rev.parents) != 1)


def collapse_chains(listing: RevisionListing, pinned: Iterable[str] = (), min_run: int = 4
                    ) -> tuple[RevisionListing, dict[str, tuple[str, ...]]]:
    """The listing with long runs of plain revisions folded; returns it and chain id -> folded ids.

    A run is consecutive rows (newest first) where each revision's only parent
    is the next row and each has one child. Its first and last revisions stay;
    the ones between become one row whose id is ``chain:<first folded id>``.
    """
    pinned = set(pinned)
    revs = listing.revisions
    out: list[RevisionInfo] = []
    chains: dict[str, tuple[str, ...]] = {}
    i = 0
    while i < len(revs):
        j = i
        while (j + 1 < len(revs) and not _keep(revs[j], pinned) and len(revs[j].children) <= 1
               and revs[j].parents == (revs[j + 1].id,) and len(revs[j + 1].children) == 1):
            j += 1
        run = revs[i:j + 1] if j > i else revs[i:i + 1]
        if len(run) >= min_run + 2 and all(not _keep(r, pinned) for r in run[1:-1]):
            top, middle, bottom = run[0], run[1:-1], run[-1]
            chain_id = CHAIN_PREFIX + middle[0].id
            chains[chain_id] = tuple(r.id for r in middle)
            out.append(dataclasses.replace(top, parents=(chain_id,)))
            out.append(RevisionInfo(
                id=chain_id, parents=(bottom.id,), depends_on=(), branch_labels=(),
                message=f"… {len(middle)} revisions ({middle[0].id[:8]} … {middle[-1].id[:8]}), linear",
                create_date=None, path="", children=(top.id,), is_head=False, is_base=False,
                is_branch_point=False, is_merge_point=False,
            ))
            out.append(dataclasses.replace(bottom, children=(chain_id,)))
            i = j + 1
        else:
            out.append(revs[i])
            i += 1
    folded = dataclasses.replace(listing, revisions=tuple(out), _by_id={})
    return folded, chains


def cached_listing(project: ResolvedProject) -> RevisionListing:
    """``list_revisions`` once per scripts fingerprint (and script location)."""
    key = (project.fingerprint, str(project.script_location))
    with _lock:
        if key in _listings:
            _listings.move_to_end(key)
            return _listings[key]
    listing = list_revisions(project)
    with _lock:
        _listings[key] = listing
        while len(_listings) > _MAX_ENTRIES:
            _listings.popitem(last=False)
    return listing


def cached_graph(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """Whatever ``build()`` returns, once per ``key`` (which must start with the scripts fingerprint)."""
    with _lock:
        if key in _graphs:
            _graphs.move_to_end(key)
            return _graphs[key]
    value = build()
    with _lock:
        _graphs[key] = value
        while len(_graphs) > _MAX_ENTRIES:
            _graphs.popitem(last=False)
    return value


def clear() -> None:
    """Forget every cached listing and picture (tests)."""
    with _lock:
        _listings.clear()
        _graphs.clear()
