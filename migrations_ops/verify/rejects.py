"""A copy's rejects, read by the verification to explain rows missing in the target.

The copy records every row it could not load in the target (``mop.copy_reject``:
source table, key as ``"v1, v2"`` of the raw primary-key values or ``rowid:N``,
column, reason). A row the verification finds missing in the target whose
table and key are those of a reject is "explained by reject": named with its
reason, counted apart, and not what makes a verdict fail.

Which copy: the one the caller names (``copy_id``; the portal passes the copy
a verification follows), else the latest copy into this target from this
source file that is no longer running; the report says which and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from .canonical import unfield
from .schema import query, run


@dataclass(frozen=True, slots=True)
class CopyRejects:
    """The rejected rows of one copy, by source table and normalised key."""

    copy_id: str
    chosen: str
    """Why this copy: ``"given"`` (named by the caller) or ``"latest"`` (latest copy of this source file)."""
    by_table: dict[str, dict[str, str]] = field(default_factory=dict)

    def rows(self, *tables: str) -> dict[str, str]:
        """Rejected keys -> reasons of a table, looked up by its source name, then by its target name."""
        return next((self.by_table[t] for t in tables if t in self.by_table), {})

    def explainer(self, *tables: str) -> Any:
        """A function from a located key (canonical fields, or ``("rowid:N",)``) to its reject reason, or None."""
        keys = self.rows(*tables)
        if not keys:
            return None

        def explain(fields: tuple[str, ...]) -> str | None:
            return keys.get(key_text(fields))

        return explain


def key_text(fields: tuple[str, ...]) -> str:
    """A located key as the copy writes a reject's key: values joined by ``", "``, case-folded (uuid text case).

    >>> key_text(("'C001'",)), key_text(("7", "'A b'")), key_text(("rowid:3",))
    ('c001', '7, a b', 'rowid:3')
    """
    return ", ".join("None" if (v := unfield(f)) is None else v for f in fields).casefold()


def load_rejects(conn: psycopg.Connection, source: str | None, copy_id: str | None = None, *,
                 timeout_ms: int = 0) -> CopyRejects | None:
    """Read the rejects of the copy that applies: ``copy_id`` if given, else the latest copy of ``source``.

    :param conn: the verification's read-only target session.
    :param source: the SQLite path as the copy recorded it (``mop.copy_run.source``).
    :param copy_id: an explicit copy; None to take the latest one of ``source``.
    :returns: None when the target holds no copy state or no copy of that source.
    """
    def q(name: str, params: dict[str, Any]) -> list[Any]:
        return run(conn, query(name), params, table="mop.copy_reject", what=name, timeout_ms=timeout_ms)

    if not q("copy_store_present", {})[0][0]:
        return None
    chosen = "given"
    if copy_id is None:
        latest = q("copy_latest", {"source": source}) if source else []
        if not latest:
            return None
        copy_id, chosen = latest[0][0], "latest"
    by_table: dict[str, dict[str, str]] = {}
    for table, key, reason in q("copy_rejected_keys", {"copy_id": copy_id}):
        by_table.setdefault(table, {})[key.casefold()] = reason
    return CopyRejects(copy_id, chosen, by_table)
