"""Named SQL files, read once: ``queries.get("blocking_sessions")``.

SQL lives in ``migrations_ops/queries/<purpose>[_post_<version>].sql`` (as
pg_activity keeps it) so that a DBA can read and run it in psql as is, and so
that no statement is assembled from Python strings. Each file opens with a
``-- returns: ...`` comment. Where a query differs between server versions,
``<purpose>_post_<version>.sql`` is picked for servers at or above
``<version>`` (``server_version_num``, e.g. ``post_140000``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

QUERIES_DIR = Path(__file__).resolve().parent / "queries"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_POST_RE = re.compile(r"^(?P<base>[a-z][a-z0-9_]*)_post_(?P<version>\d{6})$")


def get(name: str, server_version: int | None = None) -> str:
    """Return the text of query ``name``, the variant for ``server_version`` if one exists.

    >>> get("activity_summary").startswith("-- returns:")
    True
    >>> get("../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: bad query name '../etc/passwd'
    """
    if not _NAME_RE.match(name):
        raise ValueError(f"bad query name {name!r}")
    return _read(_variant(name, server_version))


def names() -> tuple[str, ...]:
    """Every query file's name, without the ``.sql``."""
    return tuple(sorted(p.stem for p in QUERIES_DIR.glob("*.sql")))


@functools.cache
def _variant(name: str, server_version: int | None) -> str:
    """The highest ``name_post_NNNNNN`` not above ``server_version``, else ``name``."""
    if server_version is None:
        return name
    best = (-1, name)
    for stem in names():
        m = _POST_RE.match(stem)
        if m and m["base"] == name and best[0] < int(m["version"]) <= server_version:
            best = (int(m["version"]), stem)
    return best[1]


@functools.cache
def _read(stem: str) -> str:
    path = QUERIES_DIR / f"{stem}.sql"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"no query named {stem!r} in {QUERIES_DIR}") from None
