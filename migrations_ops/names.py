"""One rule that pairs SQLite table names with PostgreSQL table names.

Pre-flight, copy and verification must agree on which target table holds a
source table's rows; a copy that loads ``Album`` into ``album`` and a
verification that looks for ``Album`` would otherwise disagree. The rule:

1. an exact match wins;
2. else the names equal after case folding (``str.casefold``) match;
3. two candidates for one name, or two source tables folding onto one
   target table, is an error that names both (``AmbiguousName``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from migrations_ops.errors import OpsError


class AmbiguousName(OpsError):
    """A source name matches more than one target name (or two sources one target)."""

    code = "ambiguous_name"

    def __init__(self, name: str, candidates: Iterable[str]) -> None:
        cands = tuple(sorted(candidates))
        super().__init__(
            f"table name {name!r} is ambiguous: it matches {', '.join(repr(c) for c in cands)}",
            explanation="Rename one of the tables so that names differ by more than letter case, or leave this "
                        "one out (--skip-table) and copy or verify the others (--tables).",
            name=name, candidates=list(cands),
        )


def match_name(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate that ``name`` maps to, by the rule above; ``None`` when none does.

    >>> match_name("Album", ["album", "artist"])
    'album'
    >>> match_name("album", ["album", "Album"])
    'album'
    >>> match_name("Track", ["album"]) is None
    True
    >>> match_name("Album", ["album", "ALBUM"])
    Traceback (most recent call last):
    ...
    migrations_ops.names.AmbiguousName: table name 'Album' is ambiguous: it matches 'ALBUM', 'album'
    """
    pool = list(candidates)
    if name in pool:
        return name
    folded = [c for c in pool if c.casefold() == name.casefold()]
    if len(folded) > 1:
        raise AmbiguousName(name, folded)
    return folded[0] if folded else None


def match_names(sources: Iterable[str], targets: Iterable[str]) -> dict[str, str | None]:
    """Map every source name to its target name (or ``None``); one target never serves two sources.

    >>> match_names(["Album", "Order Details", "x"], ["album", "order details"])
    {'Album': 'album', 'Order Details': 'order details', 'x': None}
    >>> match_names(["Album", "album"], ["album"])
    Traceback (most recent call last):
    ...
    migrations_ops.names.AmbiguousName: table name 'album' is ambiguous: it matches 'Album', 'album'
    """
    pool = list(targets)
    mapping = {s: match_name(s, pool) for s in sources}
    _refuse_shared_targets(mapping)
    return mapping


def _refuse_shared_targets(mapping: Mapping[str, str | None]) -> None:
    seen: dict[str, str] = {}
    for src, tgt in mapping.items():
        if tgt is None:
            continue
        if tgt in seen:
            raise AmbiguousName(tgt, [seen[tgt], src])
        seen[tgt] = src
